select * from {{ ref('nosuch_02') }}
