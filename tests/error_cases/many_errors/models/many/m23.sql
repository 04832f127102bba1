select * from {{ ref('nosuch_23') }}
