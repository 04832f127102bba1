"""Numerics that reproduce pandas / numpy results bit for bit (pure Python).

GX (pandas backend) computes ``Series.mean()``, ``.std()``, ``.sum()``, ``.median()`` and
``.quantile(..., interpolation=...)``. numpy sums float64 arrays with pairwise summation
(8-way unrolled blocks of up to 128 values), so a plain running sum differs in the last bits.
These helpers replay the same operation order, so observed values agree exactly with GX on
small tables. fsql uses them when a column has at most ``EXACT_LIMIT`` non-null values and
falls back to DuckDB's aggregates (equal up to rounding) above that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "EXACT_LIMIT",
    "pairwise_sum",
    "np_sum",
    "np_mean",
    "pd_std",
    "np_median",
    "np_quantile",
    "quantile_indexes",
    "kl_categorical",
    "kl_bins",
]

EXACT_LIMIT = 50_000
_BLOCK = 128


def pairwise_sum(a: Sequence[float]) -> float:
    """numpy's ``pairwise_sum`` for float64 (numpy/_core/src/umath/loops_utils.h.src)."""
    n = len(a)
    if n < 8:
        res = 0.0
        for x in a:
            res += x
        return res
    if n <= _BLOCK:
        r = list(a[:8])
        i = 8
        stop = n - (n % 8)
        while i < stop:
            for j in range(8):
                r[j] += a[i + j]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(a[:n2]) + pairwise_sum(a[n2:])


def masked_sum(values: Sequence[Any]) -> float:
    """numpy ``add.reduce(a, where=mask)``: pairwise sums of each unmasked run, in order."""
    res: float = 0.0
    run: list[float] = []
    for v in values:
        if v is None:
            if run:
                res += pairwise_sum(run)
                run = []
        else:
            run.append(float(v))
    return res + pairwise_sum(run) if run else res


def _nullable_int(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return len(present) < len(values) and all(isinstance(v, int) for v in present)


def np_sum(values: Sequence[Any]) -> Any:
    """``Series.sum()`` of values in row order (None = missing, skipped as pandas does).

    Integers sum exactly; floats use numpy's pairwise sum over the whole column with missing
    positions zero-filled (pandas' nanops ``putmask(values, mask, 0)``).
    """
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) for v in present):
        return sum(present)
    return 0.0 + pairwise_sum([0.0 if v is None else float(v) for v in values])


def np_mean(values: Sequence[Any]) -> float | None:
    """``Series.mean()``: zero-filled pairwise sum divided by the non-missing count."""
    n = sum(1 for v in values if v is not None)
    if n == 0:
        return None
    if _nullable_int(values):  # pandas Int64: np.mean(where=~mask)
        return masked_sum(values) / n
    return (0.0 + pairwise_sum([0.0 if v is None else float(v) for v in values])) / n


def pd_std(values: Sequence[Any]) -> float | None:
    """``Series.std()`` (ddof=1) as pandas' nanvar computes it (zero-filled masked values)."""
    n = sum(1 for v in values if v is not None)
    if n < 2:
        return None
    if _nullable_int(values):  # pandas Int64: np.std(where=~mask, ddof=1)
        mean = masked_sum(values) / n
        sq_m = [None if v is None else (float(v) - mean) * (float(v) - mean) for v in values]
        return math.sqrt(masked_sum(sq_m) / (n - 1))
    f = [0.0 if v is None else float(v) for v in values]
    avg = (0.0 + pairwise_sum(f)) / n
    sq = [0.0 if v is None else (avg - x) * (avg - x) for v, x in zip(values, f, strict=True)]
    return math.sqrt((0.0 + pairwise_sum(sq)) / (n - 1))


def np_median(sorted_values: Sequence[Any]) -> float | None:
    """``Series.median()``: middle value, or the mean of the two middle values."""
    n = len(sorted_values)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return float(sorted_values[mid])
    return (0.0 + float(sorted_values[mid - 1]) + float(sorted_values[mid])) / 2.0


def _q(q: float) -> float:
    # pandas passes q * 100 to np.percentile, which divides by 100 again.
    return (q * 100.0) / 100.0


def quantile_indexes(n: int, q: float, method: str) -> tuple[int, int, float]:
    """(lower index, upper index, gamma) numpy uses for one quantile of ``n`` sorted values."""
    q = _q(q)
    if method == "nearest":
        i = int(round((n - 1) * q))  # round half to even, like np.around
        return i, i, 0.0
    if method == "lower":
        i = int(math.floor((n - 1) * q))
        return i, i, 0.0
    if method == "higher":
        i = int(math.ceil((n - 1) * q))
        return i, i, 0.0
    virtual = (n - 1) * q
    lo = int(math.floor(virtual))
    hi = min(lo + 1, n - 1)
    lo = max(0, min(lo, n - 1))
    gamma = virtual - math.floor(virtual)
    if method == "midpoint":
        gamma = 0.0 if virtual % 1 == 0 else 0.5
    return lo, hi, gamma


def _lerp(a: float, b: float, t: float) -> float:
    diff = b - a
    if t >= 0.5:
        return b - diff * (1 - t)
    return a + diff * t


def np_quantile(values_at: Any, n: int, q: float, method: str, integer: bool) -> Any:
    """One quantile as ``Series.quantile(q, interpolation=method)``.

    ``values_at(i)`` returns the i-th smallest value (0-based).
    """
    if n == 0:
        return None
    lo, hi, gamma = quantile_indexes(n, q, method)
    if method in ("nearest", "lower", "higher"):
        v = values_at(lo)
        return v if integer else float(v)
    a, b = values_at(lo), values_at(hi)
    if integer:
        return _lerp(float(a), float(b), gamma) if a != b else float(a)
    return _lerp(float(a), float(b), gamma)


def _rel_entr(x: float, y: float) -> float:
    """scipy.special.rel_entr (scipy/special/_convex_analysis.pxd)."""
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x <= 0 or y <= 0:
        return 0.0 if (x == 0 and y >= 0) else math.inf
    ratio = x / y
    if 0.5 < ratio < 2:
        return x * math.log1p((x - y) / y)
    if 2.2250738585072014e-308 < ratio < math.inf:
        return x * math.log(ratio)
    return x * (math.log(x) - math.log(y))


def _entropy(pk: list[float], qk: list[float]) -> float:
    sp, sq = 0.0 + pairwise_sum(pk), 0.0 + pairwise_sum(qk)
    p = [1.0 * x / sp for x in pk]
    q = [1.0 * x / sq for x in qk]
    return 0.0 + pairwise_sum([_rel_entr(a, b) for a, b in zip(p, q, strict=True)])


def kl_categorical(
    partition: dict[str, Any],
    counts: list[tuple[Any, int]],
    nonnull: int,
    tail_weight_holdout: float,
) -> tuple[float | None, dict[str, Any]]:
    """GX's categorical KL divergence: observed value counts vs the expected partition."""
    values = list(partition["values"])
    expected = dict(zip(values, partition["weights"], strict=True))
    observed = {v: c / nonnull for v, c in counts} if nonnull else {}
    index = values + [v for v, _ in counts if v not in expected]
    pk = [observed.get(v, 0.0) for v in index]
    missing = [v for v in index if v not in expected]
    if missing:
        qk = [
            expected[v] * (1 - tail_weight_holdout)
            if v in expected
            else tail_weight_holdout / len(missing)
            for v in index
        ]
    else:
        qk = [float(expected[v]) for v in index]
    try:
        kl = _entropy(pk, qk)
    except ZeroDivisionError:
        kl = math.nan
    details = {
        "observed_partition": {"values": index, "weights": pk},
        "expected_partition": {"values": index, "weights": qk},
    }
    return kl, details


def kl_bins(
    partition: dict[str, Any],
    hist: list[int],
    below: int,
    above: int,
    nonnull: int,
    tail_weight_holdout: float,
    internal_weight_holdout: float,
) -> tuple[float, dict]:
    """GX's continuous KL divergence for a partition with finite bin edges."""
    observed = [h / nonnull for h in hist]
    expected = [
        w * (1 - tail_weight_holdout - internal_weight_holdout) for w in partition["weights"]
    ]
    zeros = sum(1 for w in expected if w == 0)
    if internal_weight_holdout > 0 and zeros:
        expected = [internal_weight_holdout / zeros if w == 0 else w for w in expected]
    tails = partition.get("tail_weights") or [tail_weight_holdout / 2, tail_weight_holdout / 2]
    comb_expected = [tails[0], *expected, tails[1]]
    comb_observed = [below / nonnull, *observed, above / nonnull]
    kl = _entropy(comb_observed, comb_expected)
    details = {
        "observed_partition": {
            "bins": partition["bins"],
            "weights": observed,
            "tail_weights": [below / nonnull, above / nonnull],
        },
        "expected_partition": {
            "bins": partition["bins"],
            "weights": expected,
            "tail_weights": list(tails),
        },
    }
    return kl, details
