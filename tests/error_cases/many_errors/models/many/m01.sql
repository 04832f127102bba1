select * from {{ ref('nosuch_01') }}
