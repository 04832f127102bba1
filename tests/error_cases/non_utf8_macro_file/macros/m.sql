{% macro m() %}
  café
{% endmacro %}
