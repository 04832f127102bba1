{{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts', ttl='7d', online=true) }}
-- Rolling 7-day spend per card holder, one row per holder per active day.
-- feature_ts is the END of the day (midnight of the next day): the moment the day's total is
-- complete. A point-in-time join at a transaction's timestamp therefore only sees days that
-- ended before it, never the transaction itself or later ones of the same day (no leakage).
-- The frame "6 days preceding .. current row" over daily rows covers exactly 7 calendar days.
select
    user_id,
    txn_day + interval 1 day                                      as feature_ts,
    {{ cents_to_dollars('sum(spend_cents) over w') }}             as spend_7d,
    cast(sum(txn_count) over w as BIGINT)                         as txn_count_7d,
    {{ cents_to_dollars('max(max_amount_cents) over w') }}        as max_txn_amount_7d,
    cast(sum(online_txn_count) over w as BIGINT)                  as online_txn_count_7d,
    cast(sum(night_txn_count) over w as BIGINT)                   as night_txn_count_7d
from {{ ref('int_user_daily') }}
window w as (
    partition by user_id
    order by txn_day
    range between interval 6 days preceding and current row
)
