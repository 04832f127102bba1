"""The Redis online store (optional extra ``fsql[redis]``; the client is imported lazily).

Layout in Redis (``prefix`` defaults to ``fsql``)::

    <prefix>:layout            hash  feature set -> {"gen": n, "layout": {...}}
    <prefix>:status            hash  feature set -> status JSON
    <prefix>:h:<fs>            hash  encoded key -> content hash (index of stored entities)
    <prefix>:e:<fs>:<key>      string JSON [gen, event_ts_us, hash, v1, v2, ...]

Reads are one ``MGET`` per feature set. A value written under an older layout
generation is treated as missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, replace
from typing import Any

from fsql.errors import ConfigError
from fsql.online.base import FeatureSetStatus, Key, Layout, OnlineStore, Row

__all__ = ["RedisStore", "decode_key", "encode_key"]

_CHUNK = 5000


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
        self._plans: dict[tuple[str, tuple[str, ...]],
                          tuple[int, tuple[int | None, ...], tuple[str, ...]]] = {}

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _layout_gen(self, name: str) -> tuple[int, Layout] | None:
        raw = self._r.hget(self._k("layout"), name)
        if raw is None:
            return None
        d = json.loads(raw)
        return int(d["gen"]), Layout.from_json(json.dumps(d["layout"]))

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
        self._r.hset(self._k("layout"), name,
                     json.dumps({"gen": gen, "layout": json.loads(layout.to_json())}))
        nk = len(layout.join_keys)
        ekey, hidx = self._k("e", name, ""), self._k("h", name)
        written = 0
        for chunk in _chunks(rows, _CHUNK):
            pipe = self._r.pipeline(transaction=False)
            index: dict[str, str] = {}
            for r in chunk:
                enc = encode_key(tuple(r[:nk]))
                pipe.set(ekey + enc, json.dumps([gen, *r[nk:]], separators=(",", ":")))
                h = r[nk + 1]
                index[enc] = "" if h is None else str(h)
            pipe.hset(hidx, mapping=index)  # type: ignore[arg-type]
            pipe.execute()
            written += len(chunk)
        self.delete(name, delete_keys)
        if status is None:
            raw = self._r.hget(self._k("status"), name)
            status = (FeatureSetStatus(**json.loads(raw)) if raw else FeatureSetStatus(
                name, layout.version, None, None, 0, 0, "push"))
        status = replace(status, row_count=self.count(name), rows_written=written)
        self._r.hset(self._k("status"), name, json.dumps(asdict(status)))
        return written

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

    def read_batch(self, name: str, keys: Sequence[Key],
                   features: Sequence[str]) -> list[Row | None]:
        plan = self._plan(name, features, refresh=False)
        if plan is None:
            return [None] * len(keys)
        ekey = self._k("e", name, "")
        raws = self._r.mget([ekey + encode_key(k) for k in keys])
        out: list[Row | None] = []
        for raw in raws:
            if raw is None:
                out.append(None)
                continue
            v = json.loads(raw)
            if v[0] != plan[0]:
                fresh = self._plan(name, features, refresh=True)
                if fresh is None or v[0] != fresh[0]:
                    out.append(None)
                    continue
                plan = fresh
            out.append(_pick(v, plan[1], plan[2]))
        return out

    def _plan(self, name: str, features: Sequence[str], *,
              refresh: bool) -> tuple[int, tuple[int | None, ...], tuple[str, ...]] | None:
        pkey = (name, tuple(features))
        plan = None if refresh else self._plans.get(pkey)
        if plan is not None:
            return plan
        got = self._layout_gen(name)
        if got is None:
            return None
        gen, lay = got
        pos = {f: i + 3 for i, f in enumerate(lay.features)}
        kinds = dict(zip(lay.features, lay.kinds, strict=True))
        plan = (gen, tuple(pos.get(f) for f in features),
                tuple(kinds.get(f, "") for f in features))
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


def _pick(v: list[Any], idx: tuple[int | None, ...], kinds: tuple[str, ...]) -> Row:
    vals: list[Any] = [None if i is None else v[i] for i in idx]
    if "json" in kinds:
        for j, k in enumerate(kinds):
            if k == "json" and vals[j] is not None:
                vals[j] = json.loads(vals[j])
    return (v[1], *vals)


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
