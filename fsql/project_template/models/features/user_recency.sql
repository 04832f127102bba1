{{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts', ttl='365d', online=true) }}
-- Recency and tenure per card holder, one row per holder per active day (feature_ts = end of
-- that day). Long gaps followed by a burst of activity are typical of a compromised card.
with days as (
    select
        user_id,
        txn_day,
        txn_count,
        lag(txn_day) over (partition by user_id order by txn_day)          as prev_txn_day,
        min(txn_day) over (partition by user_id order by txn_day
                           rows between unbounded preceding and current row) as first_txn_day
    from {{ ref('int_user_daily') }}
)
select
    d.user_id,
    d.txn_day + interval 1 day                                              as feature_ts,
    d.txn_day                                                               as last_txn_day,
    coalesce(least(date_diff('day', d.prev_txn_day, d.txn_day), {{ var('recency_cap_days') }}),
             {{ var('recency_cap_days') }})                                 as days_since_prev_txn,
    date_diff('day', d.first_txn_day, d.txn_day)                            as days_since_first_txn,
    date_diff('day', cast(u.signup_date as TIMESTAMP), d.txn_day)           as account_age_days,
    d.txn_count                                                             as txn_count_day
from days as d
left join {{ ref('stg_users') }} as u
    on u.user_id = d.user_id
