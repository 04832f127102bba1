{{ config(materialized='table') }}
-- The fraud label of every transaction: 1 when the card holder reported it as fraud
-- (a `fraud` chargeback filed by the extract date), else 0. event_timestamp is the
-- transaction time; reported_at is when the label became known (NULL when never disputed).
select
    t.txn_id,
    t.user_id,
    t.merchant_id,
    t.txn_ts                                        as event_timestamp,
    coalesce(c.is_fraud, false)                     as is_fraud,
    cast(coalesce(c.is_fraud, false) as INTEGER)    as label,
    c.reason                                        as chargeback_reason,
    c.reported_at
from {{ ref('stg_transactions') }} as t
left join {{ ref('stg_chargebacks') }} as c
    on c.txn_id = t.txn_id
