select user_id, ts, {{ dolars('amount') }} as amount
from {{ source('raw', 'txns') }}
where amount >= {{ var('min_amount') }}
