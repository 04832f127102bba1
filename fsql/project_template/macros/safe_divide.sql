{#- numerator / denominator as DOUBLE, NULL when the denominator is NULL or zero. -#}
{% macro safe_divide(numerator, denominator) -%}
    (case when ({{ denominator }}) is null or ({{ denominator }}) = 0 then null
          else cast(({{ numerator }}) as DOUBLE) / ({{ denominator }}) end)
{%- endmacro %}
