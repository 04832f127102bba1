{{ config(materialized='view') }}
-- One row per card holder, typed.
select
    cast(user_id as BIGINT)        as user_id,
    cast(signup_date as DATE)      as signup_date,
    cast(birth_year as INTEGER)    as birth_year,
    home_city,
    lower(card_tier)               as card_tier,
    cast(credit_limit as INTEGER)  as credit_limit
from {{ source('raw', 'users') }}
