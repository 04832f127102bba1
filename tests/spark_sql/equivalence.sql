# Queries run on DuckDB and, through to_spark, on a local Spark session; both must give the same
# rows (floats within 1e-12 relative) and the same column type families. The table `v` (one row
# per k, every type, NULLs, NaN/inf/-0.0, dates around month/year ends, timestamps before 1970)
# is defined in tests/test_spark_sql.py. `# raises` cases must fail on both engines.

# title: division is DOUBLE with IEEE results for a zero divisor
SELECT k, i / b, b / i, d / i, m / b, i / 0, 0 / 0, -1 / 0, d / 0, 1 / d, i / m, 7 / 2 FROM v ORDER BY k;

# title: double // and % are float operations; integer // and % truncate
SELECT k, d // 2, d % 2, d % 0, i // 2, i % 3, b // 3, -7 // 2, -7 % 3 FROM v ORDER BY k;

# raises: integer division by zero fails on both engines
SELECT 7 // 0;

# raises: integer remainder by zero fails on both engines
SELECT 7 % 0;

# title: decimal arithmetic keeps DECIMAL; decimal division is DOUBLE
SELECT k, m * 2, m + 1.5, m - m, m / 3, m / 0, -m FROM v ORDER BY k;

# title: date_diff counts boundaries per unit (timestamps)
SELECT k, date_diff('day', ts, ts2), date_diff('hour', ts, ts2), date_diff('minute', ts, ts2),
       date_diff('second', ts, ts2), date_diff('millisecond', ts, ts2),
       date_diff('microsecond', ts, ts2), date_diff('week', ts, ts2), date_diff('month', ts, ts2),
       date_diff('quarter', ts, ts2), date_diff('year', ts, ts2)
FROM v ORDER BY k;

# title: date_diff on dates, mixed date/timestamp, reversed arguments, datediff spelling
SELECT k, date_diff('day', dt, dt2), date_diff('week', dt, dt2), date_diff('month', dt, dt2),
       date_diff('year', dt, dt2), datediff('day', dt2, dt), date_diff('day', dt, ts),
       date_diff('days', cast(dt as TIMESTAMP), ts2)
FROM v ORDER BY k;

# title: date_trunc returns TIMESTAMP for dates and timestamps
SELECT k, date_trunc('day', ts), date_trunc('hour', ts), date_trunc('month', ts), date_trunc('week', ts),
       date_trunc('year', ts), date_trunc('quarter', ts), date_trunc('minute', ts), date_trunc('second', ts),
       date_trunc('day', dt), date_trunc('month', dt), date_trunc('week', dt)
FROM v ORDER BY k;

# title: interval arithmetic on dates gives timestamps, month ends clip
SELECT k, dt + interval 1 day, dt - interval 89 days, dt + interval 1 month, ts + interval '3 hours',
       ts - interval 29 days, interval 1 day + dt, dt + 1, ts + interval 1 month + interval 1 day
FROM v ORDER BY k;

# title: NULL ordering: ascending NULLS LAST, descending NULLS LAST, explicit NULLS FIRST
SELECT list(k ORDER BY s), list(k ORDER BY d DESC, k), list(k ORDER BY i NULLS FIRST, k),
       list(k ORDER BY dt DESC NULLS FIRST, k), list(k ORDER BY f, k DESC)
FROM v;

# title: ORDER BY a nullable column (ascending) with a LIMIT
SELECT k, s FROM v ORDER BY s, k LIMIT 5;

# title: ORDER BY a double with NaN, inf, -0.0 and NULL, descending
SELECT k, d FROM v ORDER BY d DESC, k LIMIT 7;

# title: window ORDER BY without NULLS: row_number, lag, running sum
SELECT k, row_number() OVER (ORDER BY i), lag(k) OVER (PARTITION BY g ORDER BY dt),
       sum(i) OVER (PARTITION BY g ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
FROM v ORDER BY k;

# title: RANGE frames with interval offsets over dates and timestamps
SELECT k, sum(k) OVER (ORDER BY dt RANGE BETWEEN INTERVAL 30 DAYS PRECEDING AND CURRENT ROW),
       count(*) OVER (ORDER BY ts RANGE BETWEEN INTERVAL 2 DAYS PRECEDING AND CURRENT ROW),
       max(k) OVER (PARTITION BY g ORDER BY date_trunc('day', ts)
                    RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW)
FROM v ORDER BY k;

# title: count(*) and count(x) are BIGINT; sums of integers and decimals
SELECT g, count(*), count(i), count(DISTINCT f), sum(i), sum(b), sum(m), count(*) FILTER (WHERE f)
FROM v GROUP BY g ORDER BY g;

# title: numeric aggregates over ints, decimals and doubles (avg of a decimal is DOUBLE)
SELECT g, avg(i), avg(m), min(d), max(d), stddev_samp(i), var_pop(b), min(m), max(s), min(dt), max(ts)
FROM v GROUP BY g ORDER BY g;

# title: quantiles: quantile_cont / quantile_disc / median, scalar and lists, with FILTER
SELECT quantile_cont(i, 0.3), quantile_cont(b, [0.1, 0.5, 0.9]), quantile_disc(i, 0.5),
       quantile_disc(m, [0.25, 0.26, 0.75, 1.0]), median(i), median(m),
       quantile_disc(k, [0.1, 0.9]) FILTER (WHERE f), quantile_cont(k, 0.5) FILTER (WHERE NOT f)
FROM v;

# title: list / array_agg keep NULLs, follow ORDER BY, give NULL for no rows
SELECT g, list(i ORDER BY k), array_agg(s ORDER BY k DESC), list(k ORDER BY i DESC, k) FILTER (WHERE k > 2),
       list(k ORDER BY k) FILTER (WHERE false), list(dt ORDER BY dt NULLS FIRST, k)
FROM v GROUP BY g ORDER BY g;

# title: casts: DOUBLE to integers rounds half to even, DECIMAL half away from zero
SELECT cast(2.5::DOUBLE AS INTEGER), cast(-2.5::DOUBLE AS BIGINT), cast(0.5::DOUBLE AS INTEGER),
       cast(1.5::DOUBLE AS SMALLINT), cast(2.5 AS INTEGER), cast(-2.5 AS INTEGER),
       cast(2.45::DECIMAL(4, 2) AS INTEGER), 3.7::INTEGER, cast(1e3 AS INTEGER);

# title: casts of columns: ::DOUBLE, ::VARCHAR, ::DATE, ::TIMESTAMP, ::BIGINT, ::DECIMAL
SELECT k, i::DOUBLE, b::VARCHAR, i::VARCHAR, s::VARCHAR, dt::VARCHAR, ts::DATE, dt::TIMESTAMP,
       f::INTEGER, i::BIGINT, m::DOUBLE, i::DECIMAL(12, 2), cast(f AS VARCHAR), m::VARCHAR
FROM v ORDER BY k;

# title: logarithms, powers and rounding
SELECT k, log(b), ln(b), log2(b), log10(b), sqrt(b), power(i, 2), abs(i), sign(d), round(m, 1),
       round(d, 2), floor(d), ceil(d), exp(0)
FROM v WHERE b > 0 ORDER BY k;

# title: NaN and infinity predicates; isnan(NULL) is NULL
SELECT k, isnan(d), isinf(d), isfinite(d), isfinite(dt), isfinite(ts), d = d, d > 1e308, d < 0, d IS NULL,
       '-infinity'::DOUBLE, 'infinity'::DOUBLE, 'nan'::DOUBLE
FROM v ORDER BY k;

# title: date parts: year, month, day, hour, dayofweek (0 = Sunday), isodow, epoch
SELECT k, year(dt), month(dt), day(dt), hour(ts), minute(ts), second(ts), dayofweek(dt), isodow(dt),
       epoch(ts), dayofyear(dt), quarter(dt), week(dt)
FROM v ORDER BY k;

# title: strings
SELECT k, lower(s), upper(s), length(s), s || '!', concat(s, '-', g), trim(s), substr(s, 2, 3),
       replace(s, 'a', 'A'), s LIKE '%a%', s ILIKE 'b%', starts_with(s, 'a'), contains(s, 'an'),
       regexp_matches(s, '^[a-z]+$'), regexp_replace(s, '[aeiou]', '_', 'g'), split_part(s, ' ', 1),
       left(s, 2), right(s, 2), lpad(s, 8, '*'), reverse(s), strpos(s, 'a')
FROM v ORDER BY k;

# title: booleans and conditionals
SELECT k, f::INTEGER, NOT f, f AND i > 0, f OR i > 0, coalesce(f, false), nullif(i, 0),
       CASE WHEN i > 0 THEN 'pos' WHEN i < 0 THEN 'neg' ELSE 'zero' END, greatest(i, b), least(i, b),
       if(f, 'y', 'n'), i BETWEEN 0 AND 5, i IN (1, 2, 3), s IS DISTINCT FROM 'apple'
FROM v ORDER BY k;

# title: boolean aggregates
SELECT g, count_if(f), bool_and(f), bool_or(f), sum(f::INTEGER), max(f), min(f) FROM v GROUP BY g ORDER BY g;

# title: timestamp literals and comparisons
SELECT k, ts < timestamp '2020-06-01' + interval 1 day, dt >= date '2020-01-05', ts::DATE = dt,
       timestamp '2026-10-31' - interval 60 days, date '2020-02-28' + interval 1 day
FROM v ORDER BY k;

# title: QUALIFY (keep the first row per group)
SELECT g, k, row_number() OVER (PARTITION BY g ORDER BY k DESC) AS rn FROM v QUALIFY rn = 1 ORDER BY g;

# title: quoted identifiers, schema-qualified relation, EXCLUDE
SELECT "k", "s" AS "Name" FROM "main"."v" WHERE "k" < 4 ORDER BY "k";

# title: SELECT * EXCLUDE
SELECT * EXCLUDE (s, g, d, f, m, ts, ts2, dt, dt2) FROM v ORDER BY k;

# title: CTEs, joins, UNION, DISTINCT, GROUP BY ALL
WITH a AS (SELECT g, count(*) AS n FROM v GROUP BY ALL), b AS (SELECT DISTINCT g FROM v)
SELECT b.g, a.n FROM b LEFT JOIN a ON a.g = b.g
UNION ALL SELECT 'total', count(*) FROM v ORDER BY 1, 2;

# title: string_agg with ORDER BY
SELECT g, string_agg(s, ',' ORDER BY k) FROM v GROUP BY g ORDER BY g;
