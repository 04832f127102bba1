select * from {{ ref('nosuch_07') }}
