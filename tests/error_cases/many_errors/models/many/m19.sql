select * from {{ ref('nosuch_19') }}
