select user_id, ts, {{ dollars('amount') }} as amount,
       cast('abc' as int) as bad
from {{ source('raw', 'txns') }}
where amount >= {{ var('min_amount') }}
