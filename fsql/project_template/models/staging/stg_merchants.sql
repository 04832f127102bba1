{{ config(materialized='view') }}
-- One row per merchant, enriched with its category and risk tier from the
-- merchant_categories seed (seeds/merchant_categories.csv).
select
    cast(m.merchant_id as BIGINT)  as merchant_id,
    m.merchant_name,
    cast(m.mcc as INTEGER)         as mcc,
    c.category,
    c.risk_tier,
    m.city,
    cast(m.onboarded_date as DATE) as onboarded_date
from {{ source('raw', 'merchants') }} as m
left join {{ ref('merchant_categories') }} as c
    on cast(c.mcc as INTEGER) = cast(m.mcc as INTEGER)
