select * from {{ ref('nosuch_14') }}
