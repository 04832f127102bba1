{#- Money is stored and summed in integer cents (exact, order-independent sums) and only
    converted to dollars for the final feature value. Returns DOUBLE. -#}
{% macro cents_to_dollars(cents) -%}
    (cast(({{ cents }}) as DOUBLE) / 100)
{%- endmacro %}
