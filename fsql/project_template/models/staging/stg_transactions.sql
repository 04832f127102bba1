{{ config(materialized='view') }}
-- One row per card transaction, typed, with the amount in exact cents and in dollars.
-- Transactions after the extract date (var as_of) are ignored.
select
    cast(txn_id as BIGINT)                         as txn_id,
    cast(user_id as BIGINT)                        as user_id,
    cast(merchant_id as BIGINT)                    as merchant_id,
    cast(txn_ts as TIMESTAMP)                      as txn_ts,
    date_trunc('day', cast(txn_ts as TIMESTAMP))   as txn_day,
    cast(amount_cents as BIGINT)                   as amount_cents,
    {{ cents_to_dollars('amount_cents') }}         as amount,
    lower(channel)                                 as channel,
    lower(channel) = 'online'                      as is_online,
    hour(cast(txn_ts as TIMESTAMP)) < 6            as is_night
from {{ source('raw', 'transactions') }}
where cast(txn_ts as TIMESTAMP) < timestamp '{{ var("as_of") }}' + interval 1 day
