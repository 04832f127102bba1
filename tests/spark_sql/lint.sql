# Golden lint findings: a `# title:` line, the DuckDB SQL, then one `-- line:col construct` per
# finding (in text order; line/col are 1-based in the SQL as written here).

# title: ASOF JOIN in a model
select t.user_id, s.spend
from t asof join s on t.user_id = s.user_id and t.ts >= s.ts;
-- 2:8 ASOF JOIN

# title: distinct aggregates over a window
select u,
       count(distinct m) over (partition by u order by d range between interval 29 days preceding and current row) as n,
       sum(distinct x) filter (where p) over (partition by u) as s
from t;
-- 2:8 count(distinct ..) over
-- 3:8 sum(distinct ..) over

# title: list() over a window drops NULLs on Spark
select u, list(x order by d) over (partition by u) as xs from t;
-- 1:11 list(..) over

# title: DuckDB-only functions from the declared table, with their hints
select list_sum(xs) as a, hash(u) as b, epoch_ms(ts) as c, regexp_full_match(s, 'a+') as e,
       strftime(ts, '%d/%m') as f
from t;
-- 1:8 list_sum()
-- 1:27 hash()
-- 1:41 epoch_ms()
-- 1:60 regexp_full_match()
-- 2:8 strftime()

# title: a function sqlglot passes through and Spark does not know
select bar(x, 0, 10) as b, x from t;
-- 1:8 bar()

# title: unsigned and 128-bit integer types, TIME
select cast(a as UBIGINT) as a, b::UTINYINT as b, c::HUGEINT as c, d::TIME as d from t;
-- 1:18 UBIGINT
-- 1:36 UTINYINT
-- 1:54 HUGEINT
-- 1:71 TIME

# title: infinite dates and timestamps
select coalesce(valid_to, 'infinity'::TIMESTAMP) as valid_to, cast('-infinity' as DATE) as d, 'infinity'::DOUBLE as x from t;
-- 1:27 'infinity'
-- 1:68 '-infinity'

# title: files and table functions in FROM
select * from read_csv('data/x.csv') join 'data/y.parquet' using (id);
-- 1:15 read_csv()
-- 1:43 FROM 'file'

# title: star REPLACE and USING SAMPLE
select * replace (lower(s) as s) from t using sample 10%;
-- 1:8 SELECT * REPLACE
-- 1:41 USING SAMPLE

# title: date_trunc and date_diff with units Spark lacks
select date_trunc('decade', ts) as a, date_diff('millennium', a, b) as b from t;
-- 1:8 date_trunc(decade, ..)
-- 1:39 date_diff(millennium, ..)

# title: output columns without an alias are named differently by the engines
select user_id, count(*), max(ts) as last_ts, amount * 2 from t group by user_id;
-- 1:17 column without alias
-- 1:47 column without alias

# title: portable SQL has no findings
select user_id, count(*) as n, date_diff('day', min(ts), max(ts)) as span, list(x order by ts) as xs,
       sum(x) over (partition by user_id order by d range between interval 6 days preceding and current row) as s7
from t group by user_id, x, ts, d qualify row_number() over (partition by user_id order by ts desc) = 1;
