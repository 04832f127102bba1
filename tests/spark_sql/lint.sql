# title: asof
select * from t asof join s on t.a = s.a;
-- 1:17 ASOF JOIN
