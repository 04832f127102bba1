select * from {{ ref('nosuch_20') }}
