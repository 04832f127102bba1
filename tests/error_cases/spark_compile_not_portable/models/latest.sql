select e.user_id, d.merchants_30d
from {{ ref('events') }} as e
asof join {{ ref('diversity') }} as d
    on d.user_id = e.user_id and d.ts <= e.ts
