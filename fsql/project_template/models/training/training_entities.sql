{{ config(materialized='table') }}
-- Entity frame for training a fraud model: one row per transaction with its label, to pass to
-- FeatureStore.get_training_set(...) (join keys user_id / merchant_id, event_timestamp).
--  * only transactions at least label_maturity_days old at the extract date: younger ones may
--    still receive a fraud chargeback, so their 0 label is not yet trustworthy;
--  * every fraud transaction, and one legitimate transaction in 4 (deterministic on txn_id),
--    with sample_weight = 4 so that weighted metrics match the real fraud rate.
select
    txn_id,
    user_id,
    merchant_id,
    event_timestamp,
    label,
    cast(case when label = 1 then 1 else 4 end as DOUBLE) as sample_weight
from {{ ref('labels') }}
where event_timestamp < timestamp '{{ var("as_of") }}' - interval {{ var('label_maturity_days') }} days
  and (label = 1 or txn_id % 4 = 0)
