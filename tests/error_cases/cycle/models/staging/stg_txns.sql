select user_id, ts, {{ dollars('amount') }} as amount
from {{ source('raw', 'txns') }}
join {{ ref('user_spend') }} using (user_id)
where amount >= {{ var('min_amount') }}
