select * from {{ ref('nosuch_08') }}
