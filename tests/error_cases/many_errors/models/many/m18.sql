select * from {{ ref('nosuch_18') }}
