"""Console output of the CLI: run progress with per-model timings, summaries, tables (rich)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["RunReporter", "table"]

_STYLE = {"success": "green", "unchanged": "dim", "failed": "red", "error": "red",
          "skipped": "yellow", "blocked": "red"}


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    t = Table(*columns, show_lines=False, header_style="bold")
    for r in rows:
        t.add_row(*r)
    Console(soft_wrap=True).print(t)


def test_summary(res: Any, quiet: bool) -> None:
    """Console summary of ``fsql test``: per-model counts, then the worst offenders."""
    console = Console(highlight=False)
    if not quiet:
        for m in res.models:
            bad = len(m.failed_errors)
            style = "red" if bad else ("yellow" if m.failed_warnings else "green")
            ver = f"v{m.version}" if m.version else "source"
            console.print(f"[{style}]{'FAIL' if bad else 'PASS':<5}[/] {m.model:<36} {ver:>6} "
                          f"{len(m.checks) - bad - len(m.failed_warnings)}/{len(m.checks)} "
                          f"passed {m.duration_s:6.2f}s")
    worst = res.worst()
    if worst:
        console.print("worst offenders:", style="bold")
        for model, c in worst:
            style = "red" if c["severity"] == "error" else "yellow"
            console.print(f"  [{style}]{c['severity'].upper():<5}[/] {model}: {c['message']}",
                          markup=True, highlight=False)
    k = res.counts()
    line = (f"test {res.run_id}: {k['passed']} passed, {k['failed']} failed, {k['warned']} "
            f"warned in {res.duration_s:.2f}s")
    console.print(line, style="red" if res.exit_code else "green")


class RunReporter:
    """Receives executor events ('start'/'done') and prints one line per finished model."""

    def __init__(self, quiet: bool, event: Callable[..., None], json_mode: bool = False) -> None:
        self.quiet, self.event, self.json_mode = quiet or json_mode, event, json_mode
        self.console = Console(stderr=False, highlight=False)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.lock = threading.Lock()
        self.done = 0

    def __enter__(self) -> RunReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, kind: str, obj: Any) -> None:
        with self.lock:
            if kind == "start":
                self.event(event="model_start", model=obj.model, reason=obj.reason)
                return
            self.done += 1
            self.event(event="model_done", **obj.to_dict())
            if not self.quiet and obj.status != "unchanged":
                self._line(obj)

    def _line(self, r: Any) -> None:
        style = _STYLE.get(r.status, "")
        ver = f"v{r.version}" if r.version else ""
        rows = f"{r.rows:,} rows" if r.rows is not None else ""
        self.console.print(f"[{style}]{r.status.upper():<8}[/] {r.model:<36} {ver:>5} "
                           f"{rows:>14} {r.duration_s:7.2f}s")
        if r.error is not None:
            self.err.print(r.error.format(), style="red", markup=False)
        elif r.status in ("failed", "skipped", "blocked") and r.message:
            self.err.print(f"{r.model}: {r.status} ({r.message})", style=style, markup=False)

    def summary(self, result: Any) -> None:
        counts: dict[str, int] = {}
        for r in result.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        self.event(event="run_done", run_id=result.run_id, exit_code=result.exit_code,
                   duration_s=result.duration_s, counts=counts)
        if result.cleaned and not self.quiet:
            self.err.print(f"cleaned leftovers of an interrupted run: {', '.join(result.cleaned)}",
                           style="yellow")
        built = counts.get("success", 0)
        if built == 0 and result.exit_code == 0 and not self.quiet:
            self.console.print("nothing to do: every selected model is up to date "
                               f"({counts.get('unchanged', 0)} unchanged, no data work)")
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        line = f"run {result.run_id}: {parts or 'no models selected'} in {result.duration_s:.2f}s"
        if not self.json_mode:
            target = self.err if result.exit_code else self.console
            target.print(line, style="red" if result.exit_code else "green")
        sys.stdout.flush()
