select * from {{ ref('nosuch_04') }}
