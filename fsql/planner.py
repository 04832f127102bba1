"""Stage 5 — plan: compare fingerprints and input versions with the state store.

The plan is data (frozen dataclasses) that prints itself; ``fsql run --dry-run`` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .compiler import CompiledModel
from .graph import Graph
from .state import LiveVersion

Action = Literal["build", "skip", "blocked"]
__all__ = ["Plan", "PlanStep", "make_plan"]


@dataclass(frozen=True)
class PlanStep:
    model: str
    action: Action
    reason: str
    materialized: str
    fingerprint: str
    live_version: int | None = None

    def describe(self) -> str:
        live = f" (live v{self.live_version})" if self.live_version else ""
        return f"{self.action:<7} {self.model:<40} {self.materialized:<12} {self.reason}{live}"


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlanStep, ...]
    full_refresh: bool = False

    @property
    def to_build(self) -> list[str]:
        return [s.model for s in self.steps if s.action == "build"]

    @property
    def is_noop(self) -> bool:
        return not any(s.action != "skip" for s in self.steps)

    def step(self, model: str) -> PlanStep:
        return next(s for s in self.steps if s.model == model)

    def format(self) -> str:
        n = len(self.to_build)
        head = f"plan: {n} to build, {len(self.steps) - n} unchanged"
        return "\n".join([head] + ["  " + s.describe() for s in self.steps])


def make_plan(models: Mapping[str, CompiledModel], fingerprints: Mapping[str, str],
              graph: Graph, selected: Sequence[str], live: Mapping[str, LiveVersion],
              *, full_refresh: bool = False,
              pins: Mapping[str, tuple[int, str]] | None = None,
              incremental: Mapping[str, Any] | None = None) -> Plan:
    """Decide build/skip per selected model, in build order.

    A model rolled back to an older version stays pinned there (its dependants are rebuilt
    against it) until its own code changes again or ``full_refresh`` is asked.
    """
    pins = pins or {}
    building: set[str] = set()
    steps = []
    chosen = set(selected)
    for name in graph.order:
        m = models[name]
        if name not in chosen or m.is_ephemeral or m.kind == "ingest":
            continue  # ingested feature sets get versions from store.ingest, not from runs
        pin = pins.get(name)
        inc = (incremental or {}).get(name)
        action: Action
        if pin and not full_refresh and pin[1] == fingerprints[name] and name in live:
            action, reason = "skip", f"pinned to v{pin[0]} by rollback"
        elif inc is not None and _parents_ready(m, models, live, building):
            action = "build" if inc.ranges else "skip"
            reason = inc.describe() if inc.ranges else "up to date (every interval built)"
        else:
            action, reason = _decide(m, fingerprints[name], live.get(name), live, building,
                                     chosen, models, full_refresh)
        if action == "build":
            building.add(name)
        cur = live.get(name)
        steps.append(PlanStep(name, action, reason, m.materialized, fingerprints[name],
                              cur.version if cur else None))
    return Plan(tuple(steps), full_refresh)


def _parents_ready(m: CompiledModel, models: Mapping[str, CompiledModel],
                   live: Mapping[str, LiveVersion], building: set[str]) -> bool:
    return all(p in live or p in building for p in _physical_parents(m, models))


def _physical_parents(m: CompiledModel, models: Mapping[str, CompiledModel]) -> list[str]:
    """Parents that exist as relations (ephemeral parents are inlined: look through them)."""
    out: list[str] = []
    for d in m.depends_on:
        out.extend(_physical_parents(models[d], models) if models[d].is_ephemeral else [d])
    return sorted(set(out))


def _decide(m: CompiledModel, fp: str, cur: LiveVersion | None,
            live: Mapping[str, LiveVersion], building: set[str], chosen: set[str],
            models: Mapping[str, CompiledModel], full_refresh: bool) -> tuple[Action, str]:
    parents = _physical_parents(m, models)
    missing = [p for p in parents if p not in live and p not in building]
    if missing:
        why = "was never built" if all(p not in chosen for p in missing) else "is not available"
        return "blocked", f"upstream '{missing[0]}' {why}: select it too (e.g. +{m.name})"
    if full_refresh:
        return "build", "full refresh"
    if cur is None:
        return "build", "new model (no live version)"
    rebuilt = [p for p in parents if p in building]
    if rebuilt:
        return "build", "upstream rebuilt: " + ", ".join(rebuilt)
    if cur.own_hash != m.own_hash:
        return "build", "SQL or config changed"
    if cur.fingerprint != fp:
        return "build", "upstream definition changed"
    moved = [f"{p} v{cur.input_versions.get(p)}->v{live[p].version}" for p in parents
             if cur.input_versions.get(p) != live[p].version]
    if moved:
        return "build", "upstream version changed: " + ", ".join(moved)
    return "skip", "up to date"
