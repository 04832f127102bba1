{{ config(materialized='view') }}
-- One row per dispute, typed. Disputes filed after the extract date are ignored.
select
    cast(chargeback_id as BIGINT)      as chargeback_id,
    cast(txn_id as BIGINT)             as txn_id,
    cast(reported_at as TIMESTAMP)     as reported_at,
    lower(reason)                      as reason,
    lower(reason) = 'fraud'            as is_fraud
from {{ source('raw', 'chargebacks') }}
where cast(reported_at as TIMESTAMP) < timestamp '{{ var("as_of") }}' + interval 1 day
