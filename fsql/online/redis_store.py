"""The Redis online store (optional extra ``fsql[redis]``; the client is imported lazily).

Layout in Redis (``prefix`` defaults to ``fsql``)::

    <prefix>:layout            hash  feature set -> {"gen": n, "format": 2, "layout": {...}}
    <prefix>:status            hash  feature set -> status JSON
    <prefix>:h:<fs>            hash  encoded key -> content hash (index of stored entities)
    <prefix>:e:<fs>:<key>      string  layout generation (int64), the row's binary head
                               (timestamp, null bitmap, numeric features: see
                               :mod:`fsql.online.codec`), then the text features as UTF-8
                               separated by 0xFF, a null as 0xFE (JSON features as JSON
                               text); neither byte occurs in UTF-8

Reads are one ``MGET`` per feature set, one ``struct`` call for the heads of all entities
(generation included) and one decode and split for all their texts. A value written under
an older layout generation is treated as missing. Feature sets written by an older fsql
(JSON ``[gen, ts, hash, values...]`` strings; no ``format``) are converted by the next
write (``fsql materialize``); reading them first raises an error that says so.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from fsql.errors import ConfigError
from fsql.online.base import (
    FeatureSetStatus,
    Key,
    Layout,
    OnlineStore,
    read_batch_via_columns,
)
from fsql.online.codec import ReadPlan, RowCodec

__all__ = ["RedisStore", "decode_key", "encode_key"]

_CHUNK = 5000
_FORMAT = 2
_GEN = struct.Struct("<q")


def encode_key(key: Key) -> str:
    """Encode an entity key as a string; ints and strings never collide.

    >>> encode_key((1,)), encode_key(("1",)), encode_key((1, "a"))
    ('1', '"1"', '[1,"a"]')
    """
    if len(key) == 1:
        v = key[0]
        return str(v) if type(v) is int else json.dumps(v)
    return json.dumps(list(key), separators=(",", ":"))


def decode_key(text: str | bytes) -> Key:
    """Inverse of :func:`encode_key`.

    >>> decode_key('[1,"a"]'), decode_key('"1"')
    ((1, 'a'), ('1',))
    """
    v = json.loads(text)
    return tuple(v) if isinstance(v, list) else (v,)


@dataclass
class _Plan:
    """How to read some features of one feature set (cached per feature list)."""

    gen: int  # the layout generation
    prefix: bytes  # ... as every value of this generation starts
    codec: RowCodec
    read: ReadPlan
    missing: bytes  # the stand-in value of a missing entity
    end: int  # where the texts start in a value


class RedisStore(OnlineStore):
    """An online store on a Redis server (``redis://host:port/db``)."""

    kind = "redis"

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "fsql") -> None:
        try:
            import redis
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ConfigError("the redis online store needs the redis client",
                              hint="pip install 'fsql[redis]'") from e
        self.url = url
        self.prefix = prefix
        self._r = redis.Redis.from_url(url, socket_timeout=30)
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _layout_gen(self, name: str) -> tuple[int, Layout, int] | None:
        """(generation, layout, format) of a stored feature set."""
        raw = self._r.hget(self._k("layout"), name)
        if raw is None:
            return None
        d = json.loads(raw)
        return int(d["gen"]), Layout.from_json(json.dumps(d["layout"])), int(d.get("format", 1))

    def layout(self, name: str) -> Layout | None:
        got = self._layout_gen(name)
        return None if got is None else got[1]

    def write_batch(self, layout: Layout, rows: Iterable[Sequence[Any]], *,
                    reset: bool = False, delete_keys: Iterable[Key] = (),
                    status: FeatureSetStatus | None = None) -> int:
        name = layout.name
        got = self._layout_gen(name)
        gen = got[0] if got else 0
        if got is None or not layout.same_shape(got[1]) or reset:
            self._drop_entities(name)
            gen += 1
        elif got[2] != _FORMAT:
            self._convert_legacy(got[1], gen)
        self._r.hset(self._k("layout"), name, json.dumps(
            {"gen": gen, "format": _FORMAT, "layout": json.loads(layout.to_json())}))
        written = self._write_rows(layout, gen, rows)
        self.delete(name, delete_keys)
        if status is None:
            raw = self._r.hget(self._k("status"), name)
            status = (FeatureSetStatus(**json.loads(raw)) if raw else FeatureSetStatus(
                name, layout.version, None, None, 0, 0, "push"))
        status = replace(status, row_count=self.count(name), rows_written=written)
        self._r.hset(self._k("status"), name, json.dumps(asdict(status)))
        return written

    def _write_rows(self, layout: Layout, gen: int, rows: Iterable[Sequence[Any]]) -> int:
        ekey, hidx = self._k("e", layout.name, ""), self._k("h", layout.name)
        codec = RowCodec(layout)
        written = 0
        for chunk in _chunks(rows, _CHUNK):
            keys_h, heads, texts = codec.encode_batch(chunk)
            pipe = self._r.pipeline(transaction=False)
            index: dict[str, str] = {}
            for key, h, value in zip(zip(*keys_h[:-1], strict=True), keys_h[-1],
                                     _values(_GEN.pack(gen), heads, texts), strict=True):
                enc = encode_key(key)
                pipe.set(ekey + enc, value)
                index[enc] = "" if h is None else str(h)
            pipe.hset(hidx, mapping=index)  # type: ignore[arg-type]
            pipe.execute()
            written += len(chunk)
        return written

    def _convert_legacy(self, layout: Layout, gen: int) -> None:
        """Rewrite the JSON values of an older fsql (``[gen, ts, hash, *values]``)."""
        ekey = self._k("e", layout.name, "")
        cursor = 0
        while True:
            cursor, part = self._r.hscan(self._k("h", layout.name), cursor, count=_CHUNK)
            keys = [_text(k) for k in part]
            rows = []
            for k, raw in zip(keys, self._r.mget([ekey + k for k in keys]) if keys else [],
                              strict=True):
                v = None if raw is None else json.loads(raw)
                if v is not None and v[0] == gen:
                    rows.append((*decode_key(k), *v[1:]))
            self._write_rows(layout, gen, rows)
            if cursor == 0:
                break
        self._plans = {k: v for k, v in self._plans.items() if k[0] != layout.name}

    def _drop_entities(self, name: str) -> None:
        hidx = self._k("h", name)
        ekey = self._k("e", name, "")
        cursor = 0
        while True:
            cursor, part = self._r.hscan(hidx, cursor, count=_CHUNK)
            if part:
                self._r.unlink(*[ekey + _text(k) for k in part])
            if cursor == 0:
                break
        self._r.unlink(hidx)
        self._plans = {k: v for k, v in self._plans.items() if k[0] != name}

    read_batch = read_batch_via_columns

    def read_columns(self, name: str, keys: Sequence[Sequence[Any]],
                     features: Sequence[str]) -> tuple[list[Any], list[list[Any]]]:
        n = len(keys[0]) if keys else 0
        plan = self._plan(name, features, refresh=False)
        if plan is None or n == 0:
            return [None] * n, [[None] * n for _ in features]
        ekey = self._k("e", name, "")
        if len(keys) == 1 and set(map(type, keys[0])) <= {int}:
            names = list(map(ekey.__add__, map(str, keys[0])))
        else:
            names = [ekey + encode_key(k) for k in zip(*keys, strict=True)]
        raws = cast(list[bytes | None], self._r.mget(names))
        got = _decode(plan, raws)
        if got is None:  # a value of another layout generation: re-read the layout once
            plan = self._plan(name, features, refresh=True)
            if plan is not None:
                prefix = plan.prefix
                got = _decode(plan, [r if r is not None and r.startswith(prefix) else None
                                     for r in raws])
        return got or ([None] * n, [[None] * n for _ in features])

    def _plan(self, name: str, features: Sequence[str], *, refresh: bool) -> _Plan | None:
        pkey = (name, tuple(features))
        plan = None if refresh else self._plans.get(pkey)
        if plan is not None:
            return plan
        got = self._layout_gen(name)
        if got is None:
            return None
        gen, lay, fmt = got
        if fmt != _FORMAT:
            raise ConfigError(f"feature set '{name}' was stored in Redis by an older fsql",
                              model=name, hint="run `fsql materialize` to convert it")
        codec = RowCodec(lay)
        prefix = _GEN.pack(gen)
        missing = _values(prefix, [codec.missing], [[None]] * len(codec.text))[0]
        plan = _Plan(gen, prefix, codec, codec.read_plan(features), missing,
                     _GEN.size + codec.struct.size)
        if len(self._plans) > 1024:
            self._plans.clear()
        self._plans[pkey] = plan
        return plan

    def delete(self, name: str, keys: Iterable[Key] | None = None) -> int:
        if keys is None:
            n = self.count(name)
            self._drop_entities(name)
            self._r.hdel(self._k("layout"), name)
            self._r.hdel(self._k("status"), name)
            return n
        encs = [encode_key(tuple(k)) for k in keys]
        if not encs:
            return 0
        ekey = self._k("e", name, "")
        n = 0
        for i in range(0, len(encs), _CHUNK):
            part = encs[i:i + _CHUNK]
            n += int(self._r.unlink(*[ekey + e for e in part]))
            self._r.hdel(self._k("h", name), *part)
        return n

    def entity_hashes(self, name: str) -> dict[Key, int | None]:
        raw = self._r.hgetall(self._k("h", name))
        return {decode_key(k): (int(v) if v else None) for k, v in raw.items()}

    def count(self, name: str) -> int:
        return int(self._r.hlen(self._k("h", name)))

    def status(self) -> dict[str, FeatureSetStatus]:
        raw = self._r.hgetall(self._k("status"))
        return {_text(k): FeatureSetStatus(**json.loads(v)) for k, v in sorted(raw.items())}

    def ping(self) -> bool:
        """True when the server answers."""
        return bool(self._r.ping())

    def close(self) -> None:
        self._r.close()



def _values(prefix: bytes, heads: list[bytes], texts: list[Sequence[Any]]) -> list[bytes]:
    """The stored bytes: generation, head, then the texts as UTF-8 separated by 0xFF, a
    null as 0xFE (neither byte occurs in UTF-8, so texts need no escaping)."""
    if not texts:
        return [prefix + h for h in heads]
    return [b"".join((prefix, head, _SEP.join([_NULL if v is None else str(v).encode()
                                               for v in vals])))
            for head, *vals in zip(heads, *texts, strict=True)]


def _decode(plan: _Plan, raws: list[bytes | None]) -> tuple[list[Any], list[list[Any]]] | None:
    """Timestamps and feature columns of the stored values (None = missing); None when a
    value has another layout generation."""
    codec, end = plan.codec, plan.end
    n = len(raws)
    blank = plan.missing[:end]
    flat = codec.decode([blank if r is None else r[:end] for r in raws], "q")
    if flat[0::codec.items + 1].count(plan.gen) != n:
        return None
    texts: list[list[Any]] = []
    nt = len(codec.text)
    if nt:
        cut = plan.missing[end:]
        body = _SEP.join([cut if r is None else r[end:] for r in raws])
        every = body.decode("utf-8", "surrogateescape").split(_SEP_STR)
        texts = [every[j::nt] for j in range(nt)]
        for j, col in enumerate(texts):
            if _NULL_STR in col:
                texts[j] = [None if v == _NULL_STR else v for v in col]
    return codec.from_flat(flat, n, plan.read, texts, lead=1)


_SEP, _NULL = b"\xff", b"\xfe"
_SEP_STR, _NULL_STR = _SEP.decode("utf-8", "surrogateescape"), _NULL.decode("utf-8",
                                                                             "surrogateescape")


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _chunks(rows: Iterable[Sequence[Any]], n: int) -> Iterator[list[Sequence[Any]]]:
    buf: list[Sequence[Any]] = []
    for r in rows:
        buf.append(r)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf
