select * from {{ ref('nosuch_03') }}
