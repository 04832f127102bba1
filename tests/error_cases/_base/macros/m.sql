{% macro dollars(col) %}({{ col }} * 1.0){% endmacro %}
