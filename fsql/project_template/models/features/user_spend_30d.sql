{{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts', ttl='30d', online=true) }}
-- Rolling 30-day spend per card holder: aggregate to one row per holder per day first
-- (int_user_daily), then roll over the last 30 calendar days (29 preceding days + that day).
-- feature_ts is the end of the day, see user_spend_7d.
select
    user_id,
    txn_day + interval 1 day                                          as feature_ts,
    {{ cents_to_dollars('sum(spend_cents) over w') }}                 as spend_30d,
    cast(sum(txn_count) over w as BIGINT)                             as txn_count_30d,
    {{ safe_divide('sum(spend_cents) over w', 'sum(txn_count) over w') }} / 100 as avg_txn_amount_30d,
    {{ cents_to_dollars('max(max_amount_cents) over w') }}            as max_txn_amount_30d,
    count(*) over w                                                   as active_days_30d
from {{ ref('int_user_daily') }}
window w as (
    partition by user_id
    order by txn_day
    range between interval 29 days preceding and current row
)
