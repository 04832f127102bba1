select user_id, ts, {{ dollars('amount') }} as amount
from {{ source('raw', 'txns') }}
where amount >= {{ var('min_amount') }}
