{{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts', ttl='30d', online=false) }}
-- How many different merchants / categories a card holder used recently, and how many
-- merchants were new to them: fraudsters shop where the holder never did.
-- Distinct counts over a sliding 30-day window are written without count(distinct) over a
-- window (Spark has none): a merchant (or category) enters a holder's window on a day it is
-- used after a gap of 30+ days and leaves 30 days after its last use; the running sum of those
-- +1/-1 events at a day is the number of distinct values used in the 30 days ending that day.
-- This runs in one pass per holder on DuckDB and on Spark (no range join).
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
used as (   -- each (holder, kind of value, value) once per day it was used
    select distinct user_id, 'merchant' as kind, cast(merchant_id as VARCHAR) as val, txn_day
    from txns
    union all
    select distinct user_id, 'category' as kind, category as val, txn_day
    from txns
    where category is not null
    union all
    select distinct user_id, 'high_risk' as kind, cast(merchant_id as VARCHAR) as val, txn_day
    from txns
    where risk_tier = 'high'
),
uses as (
    select
        user_id, kind, txn_day,
        lag(txn_day) over (partition by user_id, kind, val order by txn_day)  as prev_day,
        lead(txn_day) over (partition by user_id, kind, val order by txn_day) as next_day
    from used
),
events as (   -- +1 when a value enters the window, -1 on the day it has left it
    select user_id, kind, txn_day as day, 1 as delta
    from uses
    where prev_day is null or prev_day < txn_day - interval 29 days
    union all
    select user_id, kind, txn_day + interval 30 days as day, -1 as delta
    from uses
    where next_day is null or next_day > txn_day + interval 29 days
    union all   -- the days the features are computed at
    select distinct user_id, 'day' as kind, txn_day as day, 0 as delta
    from txns
),
running as (
    select
        user_id, kind, day,
        sum(case when kind = 'merchant' then delta else 0 end) over w  as merchants,
        sum(case when kind = 'category' then delta else 0 end) over w  as categories,
        sum(case when kind = 'high_risk' then delta else 0 end) over w as high_risk_merchants
    from events
    window w as (partition by user_id order by day
                 range between unbounded preceding and current row)
),
rolling as (
    select
        user_id,
        txn_day,
        cast(sum(cast(is_new_merchant as INTEGER)) over (
            partition by user_id order by txn_day
            range between interval 6 days preceding and current row) as BIGINT) as new_merchant_count_7d
    from txns
)
select distinct
    r.user_id,
    r.txn_day + interval 1 day                  as feature_ts,
    cast(c.merchants as BIGINT)                 as distinct_merchants_30d,
    cast(c.categories as BIGINT)                as distinct_categories_30d,
    cast(c.high_risk_merchants as BIGINT)       as high_risk_merchants_30d,
    r.new_merchant_count_7d
from rolling as r
join running as c
    on c.user_id = r.user_id and c.day = r.txn_day and c.kind = 'day'
