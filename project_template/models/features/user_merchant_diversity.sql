{{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts', ttl='30d', online=false) }}
-- How many different merchants / categories a card holder used recently, and how many
-- merchants were new to them: fraudsters shop where the holder never did.
-- RANGE frames include every row of the same day, so all rows of a user-day carry the same
-- values and SELECT DISTINCT keeps one row per user per day.
with txns as (
    select
        t.user_id,
        t.txn_day,
        t.merchant_id,
        m.category,
        m.risk_tier,
        row_number() over (partition by t.user_id, t.merchant_id
                           order by t.txn_ts, t.txn_id) = 1 as is_new_merchant
    from {{ ref('stg_transactions') }} as t
    join {{ ref('stg_merchants') }} as m
        on m.merchant_id = t.merchant_id
),
rolling as (
    select
        user_id,
        txn_day,
        count(distinct merchant_id) over w30                                    as distinct_merchants_30d,
        count(distinct category) over w30                                       as distinct_categories_30d,
        count(distinct case when risk_tier = 'high' then merchant_id end) over w30 as high_risk_merchants_30d,
        cast(sum(cast(is_new_merchant as INTEGER)) over w7 as BIGINT)           as new_merchant_count_7d
    from txns
    window
        w30 as (partition by user_id order by txn_day
                range between interval 29 days preceding and current row),
        w7 as (partition by user_id order by txn_day
               range between interval 6 days preceding and current row)
)
select distinct
    user_id,
    txn_day + interval 1 day as feature_ts,
    distinct_merchants_30d,
    distinct_categories_30d,
    high_risk_merchants_30d,
    new_merchant_count_7d
from rolling
