select * from {{ ref('nosuch_17') }}
