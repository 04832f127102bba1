select user_id, ts, {{ dollars('amount') }} as amount
from {{ source('raw', 'txns') }}
{% if var('min_amount') %}
where amount >= {{ var('min_amount') }}
