select * from {{ ref('nosuch_06') }}
