"""Stage 4 — graph: the DAG, a deterministic topological order, cycles, dbt selectors.

>>> g = Graph.build({"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")})
>>> g.order
('a', 'b', 'c', 'd')
>>> sorted(g.select_expr("b+"))
['b', 'd']
"""

from __future__ import annotations

import fnmatch
import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import CompileError, SelectorError, did_you_mean

__all__ = ["Graph", "NodeInfo"]


@dataclass(frozen=True)
class NodeInfo:
    """What selectors can look at for one node."""

    path: str = ""
    tags: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    ref_locs: Mapping[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    parents: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    order: tuple[str, ...]
    info: Mapping[str, NodeInfo] = field(default_factory=dict)

    @staticmethod
    def build(parents: Mapping[str, Iterable[str]],
              info: Mapping[str, NodeInfo] | None = None) -> Graph:
        """Build the DAG; a cycle raises CompileError naming every model and file on it."""
        ps = {n: tuple(sorted(set(p))) for n, p in parents.items()}
        missing = sorted({x for p in ps.values() for x in p} - set(ps))
        ps.update({x: () for x in missing})
        kids: dict[str, list[str]] = {n: [] for n in ps}
        for n, p in ps.items():
            for x in p:
                kids.setdefault(x, []).append(n)
        ch = {n: tuple(sorted(v)) for n, v in kids.items()}
        order = _toposort(ps, ch)
        if len(order) < len(ch):
            raise _cycle_error(ps, set(ch) - set(order), info or {})
        return Graph(ps, ch, tuple(order), dict(info or {}))

    def ancestors(self, name: str, depth: int | None = None) -> set[str]:
        return _walk(name, self.parents, depth)

    def descendants(self, name: str, depth: int | None = None) -> set[str]:
        return _walk(name, self.children, depth)

    def sort(self, names: Iterable[str]) -> list[str]:
        wanted = set(names)
        return [n for n in self.order if n in wanted]

    # -- selectors --------------------------------------------------------------------------
    def select(self, select: Iterable[str] | str | None = None,
               exclude: Iterable[str] | str | None = None) -> list[str]:
        """dbt selection: space = union, comma = intersection; result in build order."""
        chosen = set(self.order) if not select else self._union(select)
        if exclude:
            chosen -= self._union(exclude)
        return self.sort(chosen)

    def _union(self, exprs: Iterable[str] | str) -> set[str]:
        items = exprs.split() if isinstance(exprs, str) else [p for e in exprs for p in e.split()]
        out: set[str] = set()
        for item in items:
            parts = [self.select_expr(p) for p in item.split(",") if p]
            out |= set.intersection(*parts) if parts else set()
        return out

    def select_expr(self, expr: str) -> set[str]:
        """One selector atom with optional graph operators: ``+m``, ``m+``, ``2+m+1``."""
        up, down, core = _split_graph_ops(expr)
        base = self._method(core, expr)
        out = set(base)
        for n in base:
            if up is not False:
                out |= self.ancestors(n, up)
            if down is not False:
                out |= self.descendants(n, down)
        return out

    def _method(self, core: str, expr: str) -> set[str]:
        method, _, value = core.partition(":") if ":" in core else ("name", "", core)
        matcher = _METHODS.get(method) or (_config_matcher(method) if
                                            method.startswith("config.") else None)
        if matcher is None:
            raise SelectorError(f"unknown selector method '{method}' in '{expr}'",
                                expected="name, tag:, path:, config.<key>:",
                                hint=did_you_mean(method, list(_METHODS) + ["config.materialized"])
                                or "see docs/cli.md")
        hits = {n for n in self.order if matcher(n, self.info.get(n, NodeInfo()), value)}
        if not hits:
            raise SelectorError(f"selector '{expr}' matches no model", expected="an existing "
                                f"{'model name' if method == 'name' else method + ' value'}",
                                hint=self._hint(method, value))
        return hits

    def _hint(self, method: str, value: str) -> str:
        pool: set[str] = set(self.order)
        if method == "tag":
            pool = {t for i in self.info.values() for t in i.tags}
        elif method == "path":
            pool = {i.path for i in self.info.values()}
        return did_you_mean(value, pool) or "check `fsql ls`"


Matcher = Callable[[str, NodeInfo, str], bool]


def _config_matcher(method: str) -> Matcher:
    key = method.split(".", 1)[1]
    return lambda n, i, v: str(i.config.get(key, "")).lower() == v.lower()


_METHODS: dict[str, Matcher] = {
    "name": lambda n, i, v: n == v or (any(c in v for c in "*?[") and fnmatch.fnmatch(n, v)),
    "tag": lambda n, i, v: v in i.tags,
    "path": lambda n, i, v: i.path == v or i.path.startswith(v.rstrip("/") + "/")
    or fnmatch.fnmatch(i.path, v),
}


def _split_graph_ops(expr: str) -> tuple[Any, Any, str]:
    """'2+m+' -> (2, None, 'm'); False = operator absent, None = unlimited depth."""
    up: Any = False
    down: Any = False
    core = expr
    if "+" in core.split(":")[0] or core.startswith(("+",)) or core[:1].isdigit():
        head, sep, rest = core.partition("+")
        if sep and (head == "" or head.isdigit()) and rest:
            up, core = (int(head) if head else None), rest
    if core.endswith("+") or _tail_digits(core):
        body, sep, tail = core.rpartition("+")
        if sep and (tail == "" or tail.isdigit()) and body:
            down, core = (int(tail) if tail else None), body
    if not core.strip("+0123456789") or not core:
        raise SelectorError(f"empty selector in '{expr}'", expected="a model name or method:value",
                            hint="write e.g. +my_model+")
    return up, down, core


def _tail_digits(core: str) -> bool:
    _, sep, tail = core.rpartition("+")
    return bool(sep) and tail.isdigit()


def _walk(start: str, edges: Mapping[str, tuple[str, ...]], depth: int | None) -> set[str]:
    seen: set[str] = set()
    frontier, level = [start], 0
    while frontier and (depth is None or level < depth):
        nxt = [m for n in frontier for m in edges.get(n, ()) if m not in seen]
        seen.update(nxt)
        frontier, level = nxt, level + 1
    return seen


def _toposort(parents: Mapping[str, tuple[str, ...]],
              children: Mapping[str, tuple[str, ...]]) -> list[str]:
    indeg = {n: len(parents.get(n, ())) for n in children}
    heap = [n for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        n = heapq.heappop(heap)
        order.append(n)
        for c in children[n]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(heap, c)
    return order


def _cycle_error(parents: Mapping[str, tuple[str, ...]], stuck: set[str],
                 info: Mapping[str, NodeInfo]) -> CompileError:
    start = min(stuck)
    path, seen = [start], {start}
    node = start
    while True:
        node = min(p for p in parents.get(node, ()) if p in stuck)
        if node in seen:
            cycle = path[path.index(node):] + [node]
            break
        path.append(node)
        seen.add(node)
    cycle.reverse()  # parents first: a -> b means b selects from a
    shown = " -> ".join(f"{n} ({info[n].path})" if n in info else n for n in cycle)
    # point at the ref() that closes the cycle: in the first model, the ref to the last one
    first = info.get(cycle[1]) if len(cycle) > 1 else info.get(cycle[0])
    line, col = (first.ref_locs.get(cycle[0], (1, 1)) if first else (1, 1))
    return CompileError(f"dependency cycle: {shown}", path=first.path if first else None,
                        line=line, col=col, model=cycle[1] if len(cycle) > 1 else cycle[0],
                        expected="a DAG (no model may depend on itself through refs)",
                        hint=f"remove one ref() on the cycle, e.g. this ref('{cycle[0]}')")
