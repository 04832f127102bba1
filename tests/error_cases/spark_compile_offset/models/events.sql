select 1 as user_id, 10 as merchant_id, timestamp '2026-01-01' as ts
