select * from {{ ref('nosuch_15') }}
