select * from {{ ref('nosuch_21') }}
