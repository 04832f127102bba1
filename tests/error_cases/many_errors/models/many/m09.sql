select * from {{ ref('nosuch_09') }}
