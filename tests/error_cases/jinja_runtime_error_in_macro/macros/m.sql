{% macro dollars(col) %}({{ col.nosuch() }} * 1.0){% endmacro %}
