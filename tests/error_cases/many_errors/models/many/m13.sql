select * from {{ ref('nosuch_13') }}
