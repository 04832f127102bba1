select user_id, ts, {{ dollars('amount') }} as amount
from {{ source('raw', 'txn') }}
where amount >= {{ var('min_amount') }}
