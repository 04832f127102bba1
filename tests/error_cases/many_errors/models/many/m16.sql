select * from {{ ref('nosuch_16') }}
