"""The compact row encoding shared by the SQLite and Redis online stores.

A stored row has a fixed-width binary *head* per layout: the event timestamp (int64), a
null bitmap of the numeric features, then every ``int`` (int64), ``float`` (float64) and
``bool`` feature in layout order, little-endian. ``str`` and ``json`` features are text
(JSON as JSON text), kept next to the head. Because every head of a layout has the same
width, the heads of ``n`` rows decode with a single ``struct`` call, and each numeric
feature column is a slice of the result: reads build the column-oriented response without
a per-row Python loop.

>>> from fsql.online.base import Layout, getter
>>> c = RowCodec(Layout("fs", ("id",), ("int",), ("a", "b", "c"), ("float", "str", "bool")))
>>> heads = [c.head(5, (1.5, "x", True)), c.head(6, (None, None, False)), c.missing]
>>> c.columns(heads, c.read_plan(("c", "a", "zz")))
([5, 6, None], [[True, False, None], [1.5, None, None], [None, None, None]])
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat, starmap
from typing import Any

from fsql.errors import ConfigError
from fsql.online.base import Layout, getter

__all__ = ["NUMERIC", "RowCodec", "ReadPlan"]

NUMERIC = {"int": "q", "float": "d", "bool": "?"}
_MISSING_TS = -(2**63)  # the timestamp of the stand-in head of a missing row
_BULK_MAX = 512  # decode up to this many heads with one struct (cached), more row by row
_BULK_CACHED = 64  # bulk structs kept (shared by codecs of the same format)
_BULK: dict[tuple[str, int], struct.Struct] = {}

# How one requested feature is read: ("num", index into a decoded head, bit of the null
# bitmap), ("text", index among the texts the store supplies, -1), ("json", index, -1),
# or ("none", -1, -1).
Source = tuple[str, int, int]


@dataclass(frozen=True)
class ReadPlan:
    """How to decode some features (:meth:`RowCodec.read_plan`)."""

    sources: tuple[Source, ...]
    pick: Callable[[Sequence[Any]], tuple[Any, ...]]  # values from head + texts + (None,)
    json_at: tuple[int, ...]  # positions of JSON features (decoded after picking)
    null_bits: tuple[tuple[int, int], ...]  # (position, bit) of the numeric features


class RowCodec:
    """Encode and decode the rows of one layout (see the module docstring)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        kinds = layout.kinds
        self.numeric = tuple(i for i, k in enumerate(kinds) if k in NUMERIC)
        self.text = tuple(i for i, k in enumerate(kinds) if k not in NUMERIC)
        self.mask_bytes = (len(self.numeric) + 7) // 8
        self.body = "q" + (f"{self.mask_bytes}s" if self.mask_bytes else "") + "".join(
            NUMERIC[kinds[i]] for i in self.numeric)
        self.struct = struct.Struct("<" + self.body)
        self.items = 1 + (1 if self.mask_bytes else 0) + len(self.numeric)
        self.zero = bytes(self.mask_bytes)
        self.mask_args: tuple[bytes, ...] = (self.zero,) if self.mask_bytes else ()
        zeros = [False if kinds[i] == "bool" else 0 for i in self.numeric]
        full = (b"\xff" * self.mask_bytes,) if self.mask_bytes else ()
        self.missing = self.struct.pack(_MISSING_TS, *full, *zeros)

    # -- writing ----------------------------------------------------------------------
    def head(self, ts: int, values: Sequence[Any]) -> bytes:
        """The head of one row; ``values`` are all features in layout order."""
        return self.pack_numeric(ts, tuple(values[i] for i in self.numeric))

    def pack_numeric(self, ts: int, nums: tuple[Any, ...]) -> bytes:
        """The head from the timestamp and the numeric feature values (in layout order)."""
        try:
            if None not in nums:
                return self.struct.pack(ts, *self.mask_args, *nums)
            mask = 0
            clean = list(nums)
            for j, v in enumerate(nums):
                if v is None:
                    mask |= 1 << j
                    clean[j] = 0
            return self.struct.pack(ts, mask.to_bytes(self.mask_bytes, "little"), *clean)
        except struct.error as e:
            raise ConfigError(f"feature set '{self.layout.name}': cannot store the values "
                              f"{nums!r} ({e})", model=self.layout.name,
                              expected="integers within 64 bits, numbers, booleans") from None

    def encode_batch(self, batch: Sequence[Sequence[Any]]
                     ) -> tuple[list[Sequence[Any]], list[bytes], list[Sequence[Any]]]:
        """``(*key, ts, hash, *features)`` rows as columns: the join keys and the hash,
        the heads, and the text features (values as written). One ``struct`` call per
        row through ``starmap``: no Python code runs per row unless a value is null."""
        nk = len(self.layout.join_keys)
        cols = list(zip(*batch, strict=True))
        if not cols:
            return [[] for _ in range(nk + 1)], [], [[] for _ in self.text]
        nums: list[Sequence[Any]] = [cols[nk + 2 + i] for i in self.numeric]
        pack, n = self.struct.pack, len(batch)
        heads = None
        # struct rejects a null int or float by itself: only booleans need a look first
        if not any(None in c for c, i in zip(nums, self.numeric, strict=True)
                   if self.layout.kinds[i] == "bool"):
            no_nulls = [repeat(self.zero, n)] if self.mask_bytes else []
            try:
                heads = list(starmap(pack, zip(cols[nk], *no_nulls, *nums, strict=True)))
            except struct.error:
                heads = None
        if heads is None:
            masks = [self._masks(nums)] if self.mask_bytes else []
            try:
                heads = list(starmap(pack, zip(cols[nk], *masks, *nums, strict=True)))
            except struct.error:  # the row by row path says which value does not fit
                heads = [self.pack_numeric(r[nk], tuple(r[nk + 2 + i] for i in self.numeric))
                         for r in batch]
        return [*cols[:nk], cols[nk + 1]], heads, [cols[nk + 2 + i] for i in self.text]

    def _masks(self, nums: list[Sequence[Any]]) -> list[bytes]:
        """The null bitmap of every row; nulls in ``nums`` are replaced by 0 (in place)."""
        bits = [0] * len(nums[0])
        for j, col in enumerate(nums):
            if None in col:
                for i, v in enumerate(col):
                    if v is None:
                        bits[i] |= 1 << j
                nums[j] = [0 if v is None else v for v in col]
        return [b.to_bytes(self.mask_bytes, "little") for b in bits]

    # -- reading ----------------------------------------------------------------------
    def read_plan(self, features: Sequence[str],
                  text_order: Sequence[int] | None = None) -> ReadPlan:
        """Where each requested feature comes from (absent features read as None).

        ``text_order`` lists the text features (indexes into ``self.text``) in the order
        the store supplies them; by default all of them, in layout order.
        """
        pos = {f: i for i, f in enumerate(self.layout.features)}
        order = list(range(len(self.text)) if text_order is None else text_order)
        first = 2 if self.mask_bytes else 1
        sources: list[Source] = []
        for f in features:
            i = pos.get(f)
            if i is None:
                sources.append(("none", -1, -1))
            elif i in self.numeric:
                j = self.numeric.index(i)
                sources.append(("num", first + j, j))
            else:
                j = order.index(self.text.index(i))
                sources.append(("json" if self.layout.kinds[i] == "json" else "text", j, -1))
        none = self.items + len(order)  # where the (None,) appended to the texts lands
        at = [i if kind == "num" else none if kind == "none" else self.items + i
              for kind, i, _ in sources]
        return ReadPlan(tuple(sources), getter(at),
                        tuple(c for c, (kind, _, _) in enumerate(sources) if kind == "json"),
                        tuple((c, bit) for c, (kind, _, bit) in enumerate(sources)
                              if kind == "num"))

    def decode(self, heads: Sequence[bytes], lead: str = "") -> tuple[Any, ...]:
        """All heads decoded as one flat tuple (``items`` values per row), each head
        optionally preceded by the fields of the struct format ``lead``."""
        n = len(heads)
        body = lead + self.body
        if n > _BULK_MAX:
            row = struct.Struct("<" + body)
            return tuple(chain.from_iterable(row.iter_unpack(b"".join(heads))))
        bulk = _BULK.get((body, n))
        if bulk is None:
            if len(_BULK) >= _BULK_CACHED:
                _BULK.clear()
            bulk = _BULK[(body, n)] = struct.Struct("<" + body * n)
        return bulk.unpack(b"".join(heads))

    def columns(self, heads: Sequence[bytes], plan: ReadPlan,
                texts: Sequence[Sequence[Any]] = ()) -> tuple[list[Any], list[list[Any]]]:
        """Event timestamps (None where the head is ``missing``) and one value list per
        planned feature; ``texts`` holds the text feature columns in the plan's order."""
        return self.from_flat(self.decode(heads), len(heads), plan, texts)

    def from_flat(self, flat: tuple[Any, ...], n: int, plan: ReadPlan,
                  texts: Sequence[Sequence[Any]] = (),
                  lead: int = 0) -> tuple[list[Any], list[list[Any]]]:
        """:meth:`columns` from decoded heads (``lead`` leading fields per row skipped)."""
        w = self.items + lead
        ts: list[Any] = list(flat[lead::w])
        if _MISSING_TS in ts:
            ts = [None if t == _MISSING_TS else t for t in ts]
        cols = [list(flat[lead + i::w]) if kind == "num" else list(texts[i]) if kind == "text"
                else [None if v is None else json.loads(v) for v in texts[i]] if kind == "json"
                else [None] * n for kind, i, _ in plan.sources]
        if self.mask_bytes:
            masks = flat[lead + 1::w]
            if masks.count(self.zero) != n:
                _apply_nulls(masks, self.zero, plan, cols)
        return ts, cols

    def one(self, head: bytes, plan: ReadPlan,
            texts: tuple[Any, ...] = ()) -> tuple[list[Any], list[list[Any]]]:
        """:meth:`columns` for a single stored row (the common one-entity read)."""
        flat = self.struct.unpack(head)
        vals: Sequence[Any] = plan.pick(flat + texts + _NONE)
        if plan.json_at or (self.mask_bytes and flat[1] != self.zero):
            vals = self._fix_one(flat, plan, list(vals))
        ts = flat[0]
        return [None if ts == _MISSING_TS else ts], [[v] for v in vals]

    def _fix_one(self, flat: tuple[Any, ...], plan: ReadPlan, vals: list[Any]) -> list[Any]:
        """Decode the JSON values and apply the null bitmap of one row."""
        for c in plan.json_at:
            if vals[c] is not None:
                vals[c] = json.loads(vals[c])
        if self.mask_bytes and flat[1] != self.zero:
            bits = int.from_bytes(flat[1], "little")
            for c, bit in plan.null_bits:
                if bits >> bit & 1:
                    vals[c] = None
        return vals


_NONE = (None,)


def _apply_nulls(masks: Sequence[bytes], zero: bytes, plan: ReadPlan,
                 cols: list[list[Any]]) -> None:
    """Set to None the numeric values whose null bit is set."""
    numeric = [(cols[c], bit) for c, bit in plan.null_bits]
    for r, m in enumerate(masks):
        if m != zero:
            bits = int.from_bytes(m, "little")
            for col, bit in numeric:
                if bits >> bit & 1:
                    col[r] = None
