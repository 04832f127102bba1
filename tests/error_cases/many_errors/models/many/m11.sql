select * from {{ ref('nosuch_11') }}
