select * from {{ ref('nosuch_05') }}
