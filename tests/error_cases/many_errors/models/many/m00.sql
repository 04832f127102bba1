select * from {{ ref('nosuch_00') }}
