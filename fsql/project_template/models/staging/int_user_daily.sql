{{ config(materialized='ephemeral') }}
-- Helper (inlined as a CTE, never stored): one row per card holder per day with at least one
-- transaction. The rolling user features aggregate these daily rows.
select
    user_id,
    txn_day,
    count(*)                                       as txn_count,
    cast(sum(amount_cents) as BIGINT)              as spend_cents,
    max(amount_cents)                              as max_amount_cents,
    count(*) filter (where is_online)              as online_txn_count,
    count(*) filter (where is_night)               as night_txn_count
from {{ ref('stg_transactions') }}
group by user_id, txn_day
