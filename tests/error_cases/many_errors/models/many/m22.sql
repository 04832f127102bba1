select * from {{ ref('nosuch_22') }}
