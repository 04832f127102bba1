{% macro dollars(col) %}({{ col }} * 1.0){% endmacr %}
