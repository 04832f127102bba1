{% macro dollars(col) %}({{ col }} * (select 1 from {{ ref('rates') }})){% endmacro %}
