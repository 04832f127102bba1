select * from {{ ref('nosuch_10') }}
