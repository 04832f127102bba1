-- distinct merchants per user over the last 30 days
select
    user_id,
    ts,
    count(distinct merchant_id) over (partition by user_id order by ts
        range between interval 29 days preceding and current row) as merchants_30d,
    cast(user_id as UBIGINT) as user_key
from {{ ref('events') }}
