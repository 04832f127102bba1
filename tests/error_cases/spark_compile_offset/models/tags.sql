{{ config(materialized='table') }}
select user_id, {{ "'a very long rendered prefix'" }} as tag, list_sort(list(merchant_id)) as merchants
from {{ ref('events') }}
group by user_id
