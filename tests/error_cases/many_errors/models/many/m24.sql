select * from {{ ref('nosuch_24') }}
