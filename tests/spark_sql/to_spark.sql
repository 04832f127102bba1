# Golden transpilations: a `# title:` line, the DuckDB SQL, then the Spark SQL to_spark writes.
# Every case here also runs on both engines in tests/spark_sql/equivalence.sql (by semantics).

# title: quoted identifiers and a schema-qualified relation
select "x", "Weird Name" from "main"."t";
SELECT `x`, `Weird Name` FROM `main`.`t`;

# title: NULL ordering made explicit (ORDER BY, windows); DESC keeps Spark's default
select a, row_number() over (partition by g order by b) from t order by a, b desc, c nulls first;
SELECT a, ROW_NUMBER() OVER (PARTITION BY g ORDER BY b NULLS LAST) FROM t ORDER BY a NULLS LAST, b DESC, c;

# title: division: IEEE double with a zero divisor; a non-zero literal divisor stays plain
select a / b, a / 100, 7 / 2 from t;
SELECT CASE WHEN b = 0 THEN CAST(a AS DOUBLE) * POWER(b, -1) ELSE TRY_DIVIDE(CAST(a AS DOUBLE), b) END, CAST(a AS DOUBLE) / 100, CAST(7 AS DOUBLE) / 2 FROM t;

# title: double // is division, double % by zero is NaN; integer // and % unchanged
select 7.5::DOUBLE // b, x % 2.5::DOUBLE, a // b, a % b from t;
SELECT CASE WHEN b = 0 THEN CAST(7.5 AS DOUBLE) * POWER(b, -1) ELSE TRY_DIVIDE(CAST(7.5 AS DOUBLE), b) END, CASE WHEN CAST(2.5 AS DOUBLE) = 0 THEN x * CAST('NaN' AS DOUBLE) ELSE TRY_MOD(x, CAST(2.5 AS DOUBLE)) END, a DIV b, a % b FROM t;

# title: date_diff by calendar parts (day, week, month, quarter, year)
select date_diff('day', a, b), date_diff('week', a, b), date_diff('month', a, b), date_diff('quarter', a, b), date_diff('year', a, b) from t;
SELECT CAST(DATEDIFF(CAST(b AS DATE), CAST(a AS DATE)) AS BIGINT), CAST(DATEDIFF(CAST(b AS DATE), CAST(a AS DATE)) DIV 7 AS BIGINT), CAST((YEAR(b) * 12 + MONTH(b)) - (YEAR(a) * 12 + MONTH(a)) AS BIGINT), CAST((YEAR(b) * 4 + QUARTER(b)) - (YEAR(a) * 4 + QUARTER(a)) AS BIGINT), CAST(YEAR(b) - YEAR(a) AS BIGINT) FROM t;

# title: date_diff by floor-divided epoch microseconds (hour .. microsecond)
select date_diff('hour', a, b), date_diff('microsecond', a, b) from t;
SELECT CAST(((UNIX_MICROS(CAST(b AS TIMESTAMP_LTZ)) - PMOD(UNIX_MICROS(CAST(b AS TIMESTAMP_LTZ)), 3600000000)) DIV 3600000000) - ((UNIX_MICROS(CAST(a AS TIMESTAMP_LTZ)) - PMOD(UNIX_MICROS(CAST(a AS TIMESTAMP_LTZ)), 3600000000)) DIV 3600000000) AS BIGINT), CAST(UNIX_MICROS(CAST(b AS TIMESTAMP_LTZ)) - UNIX_MICROS(CAST(a AS TIMESTAMP_LTZ)) AS BIGINT) FROM t;

# title: date_trunc returns TIMESTAMP_NTZ, also for dates
select date_trunc('day', ts), date_trunc('month', date '2020-01-05') from t;
SELECT CAST(DATE_TRUNC('DAY', ts) AS TIMESTAMP_NTZ), CAST(DATE_TRUNC('MONTH', CAST('2020-01-05' AS DATE)) AS TIMESTAMP_NTZ) FROM t;

# title: date or timestamp plus an interval is a timestamp
select d + interval 1 day, timestamp '2026-10-31' - interval 60 days, interval 2 hours + d from t;
SELECT CAST(d AS TIMESTAMP_NTZ) + INTERVAL '1' DAY, CAST('2026-10-31' AS TIMESTAMP_NTZ) - INTERVAL '60' DAYS, CAST(d AS TIMESTAMP_NTZ) + INTERVAL '2' HOURS FROM t;

# title: range windows with interval offsets
select sum(x) over (partition by u order by d range between interval 29 days preceding and current row) from t;
SELECT SUM(x) OVER (PARTITION BY u ORDER BY d NULLS LAST range BETWEEN INTERVAL '29' DAYS preceding AND CURRENT ROW) FROM t;

# title: casts of doubles and decimals to integers round like DuckDB
select cast(2.5::DOUBLE as INTEGER), cast(2.5 as BIGINT), x::INTEGER, x::DOUBLE, x::VARCHAR from t;
SELECT CAST(BROUND(CAST(2.5 AS DOUBLE), 0) AS INT), CAST(ROUND(2.5, 0) AS BIGINT), CAST(x AS INT), CAST(x AS DOUBLE), CAST(x AS STRING) FROM t;

# title: list / array_agg keep NULLs, follow ORDER BY, NULL for no rows
select list(x), array_agg(x order by y desc, z) filter (where p), list(distinct x) from t;
SELECT CASE WHEN COUNT(1) = 0 THEN NULL ELSE TRANSFORM(COLLECT_LIST(STRUCT(x AS _v)), _s -> _s._v) END, CASE WHEN COUNT(1) FILTER(WHERE p) = 0 THEN NULL ELSE TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(y AS _k0, z AS _k1, x AS _v)) FILTER(WHERE p), (_l, _r) -> CASE WHEN _l._k0 IS NULL AND _r._k0 IS NULL THEN CASE WHEN _l._k1 IS NULL AND _r._k1 IS NULL THEN 0 WHEN _l._k1 IS NULL THEN 1 WHEN _r._k1 IS NULL THEN -1 WHEN _l._k1 < _r._k1 THEN -1 WHEN _l._k1 > _r._k1 THEN 1 ELSE 0 END WHEN _l._k0 IS NULL THEN 1 WHEN _r._k0 IS NULL THEN -1 WHEN _l._k0 < _r._k0 THEN 1 WHEN _l._k0 > _r._k0 THEN -1 ELSE CASE WHEN _l._k1 IS NULL AND _r._k1 IS NULL THEN 0 WHEN _l._k1 IS NULL THEN 1 WHEN _r._k1 IS NULL THEN -1 WHEN _l._k1 < _r._k1 THEN -1 WHEN _l._k1 > _r._k1 THEN 1 ELSE 0 END END), _s -> _s._v) END, CASE WHEN COUNT(1) = 0 THEN NULL ELSE TRANSFORM(COLLECT_SET(STRUCT(x AS _v)), _s -> _s._v) END FROM t;

# title: quantiles are Spark's exact percentiles
select quantile_cont(x, 0.5), quantile_disc(x, [0.25, 0.75]), median(x) from t;
SELECT PERCENTILE(x, 0.5), ARRAY(PERCENTILE_DISC(0.25) WITHIN GROUP (ORDER BY x NULLS LAST), PERCENTILE_DISC(0.75) WITHIN GROUP (ORDER BY x NULLS LAST)), MEDIAN(x) FROM t;

# title: log is base 10, dayofweek 0-based, isodow 1 = Monday, epoch keeps fractions
select log(x), ln(x), dayofweek(d), isodow(d), epoch(ts) from t;
SELECT LOG(10, x), LN(x), CAST(DAYOFWEEK(d) - 1 AS BIGINT), CAST(WEEKDAY(d) + 1 AS BIGINT), UNIX_MICROS(CAST(ts AS TIMESTAMP_LTZ)) / 1e6 FROM t;

# title: isnan(NULL) is NULL; isinf, isfinite
select isnan(x), isinf(x), isfinite(x) from t;
SELECT IF(x IS NULL, CAST(NULL AS BOOLEAN), ISNAN(x)), (ABS(x) = CAST('Infinity' AS DOUBLE)), (CASE WHEN x IS NULL THEN NULL ELSE NOT CAST(x AS STRING) IN ('NaN', 'Infinity', '-Infinity') END) FROM t;

# title: count(*), count(distinct), FILTER, QUALIFY
select g, count(*), count(distinct x), count(*) filter (where p) from t group by g qualify row_number() over (order by g) = 1;
SELECT g, *, _c, _c_2 FROM (SELECT g, COUNT(*), COUNT(DISTINCT x) AS _c, COUNT(*) FILTER(WHERE p) AS _c_2, ROW_NUMBER() OVER (ORDER BY g NULLS LAST) AS _w FROM t GROUP BY g) AS _t WHERE _w = 1;
