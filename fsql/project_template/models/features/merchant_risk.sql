{{ config(materialized='feature_set', entities=['merchant'], timestamp='feature_ts', ttl='90d', online=true) }}
-- Merchant-level fraud rate over the trailing 90 days, without label leakage: a fraud label
-- counts only from the day its chargeback was reported. One row per merchant per day on which
-- the value can change (a transaction or a fraud report); feature_ts = end of that day.
--   txn_count_90d   = transactions of the 90 days ending that day
--   fraud_count_90d = those of them already reported as fraud by the end of that day
with daily_txns as (
    select merchant_id, txn_day as day, count(*) as txn_count
    from {{ ref('stg_transactions') }}
    group by merchant_id, txn_day
),
fraud_reports as (
    select merchant_id, event_timestamp, date_trunc('day', reported_at) as report_day
    from {{ ref('labels') }}
    where is_fraud
),
days as (
    select merchant_id, day from daily_txns
    union
    select merchant_id, report_day as day from fraud_reports
),
txn_rolling as (
    select
        d.merchant_id,
        d.day,
        cast(sum(coalesce(t.txn_count, 0)) over (
            partition by d.merchant_id order by d.day
            range between interval 89 days preceding and current row) as BIGINT) as txn_count_90d
    from days as d
    left join daily_txns as t
        on t.merchant_id = d.merchant_id and t.day = d.day
),
known_fraud as (
    select d.merchant_id, d.day, count(f.merchant_id) as fraud_count_90d
    from days as d
    left join fraud_reports as f
        on f.merchant_id = d.merchant_id
        and f.event_timestamp >= d.day - interval 89 days
        and f.event_timestamp < d.day + interval 1 day
        and f.report_day <= d.day
    group by d.merchant_id, d.day
)
select
    r.merchant_id,
    r.day + interval 1 day                                              as feature_ts,
    r.txn_count_90d,
    k.fraud_count_90d,
    {{ safe_divide('k.fraud_count_90d', 'r.txn_count_90d') }}           as fraud_rate_90d,
    m.risk_tier                                                         as category_risk_tier
from txn_rolling as r
join known_fraud as k
    on k.merchant_id = r.merchant_id and k.day = r.day
join {{ ref('stg_merchants') }} as m
    on m.merchant_id = r.merchant_id
