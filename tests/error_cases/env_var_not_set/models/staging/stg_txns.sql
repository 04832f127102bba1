select user_id, ts, {{ dollars('amount') }} as amount
from {{ source('raw', 'txns') }}
where amount >= {{ env_var('FSQL_GOLDEN_SURELY_UNSET') }}
