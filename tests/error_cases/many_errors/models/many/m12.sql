select * from {{ ref('nosuch_12') }}
