{{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts', ttl='30d') }}
select user_id, date_trunc('day', ts) as feature_ts, sum(amount) as spend
from {{ ref('stg_txns') }}
group by all
