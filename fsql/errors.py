"""Errors that print themselves and own their exit code (the click model).

Every user-facing error carries a location (``path:line:col``), the model it
belongs to, what was expected, and a hint. ``ErrorGroup`` collects many so
loading and compiling can report everything at once.

>>> e = FsqlError("unknown ref 'stg_txn'", path="models/a.sql", line=3, col=7,
...               model="a", expected="a model name", hint="did you mean 'stg_txns'?")
>>> print(e.format())
models/a.sql:3:7: error in model 'a': unknown ref 'stg_txn'
  expected: a model name
  hint: did you mean 'stg_txns'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "CompileError",
    "ConfigError",
    "ErrorGroup",
    "ExecutionError",
    "FsqlError",
    "IngestError",
    "LockedError",
    "RunFailed",
    "SelectorError",
    "did_you_mean",
]

MAX_REPORTED = 20


def did_you_mean(name: str, candidates: Iterable[str], n: int = 1) -> str | None:
    """Return a "did you mean 'x'?" hint for the closest candidate, if any.

    >>> did_you_mean("stg_txn", ["stg_txns", "users"])
    "did you mean 'stg_txns'?"
    """
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=n, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"


class FsqlError(Exception):
    """Base of every error fsql shows to a user; exit code 2 (nothing could start)."""

    exit_code = 2
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
        model: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        self.model = model
        self.expected = expected
        self.hint = hint

    @property
    def location(self) -> str:
        if not self.path:
            return ""
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            parts.append(str(self.col if self.col is not None else 1))
        return ":".join(parts)

    def format(self) -> str:
        head = f"{self.location}: " if self.location else ""
        where = f" in model '{self.model}'" if self.model else ""
        lines = [f"{head}{self.kind}{where}: {self.message}"]
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "model": self.model,
            "expected": self.expected,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        return self.format()


class ConfigError(FsqlError):
    """A project file (YAML, config, expectation kwargs) is invalid."""


class CompileError(FsqlError):
    """A model could not be rendered, parsed or resolved."""


class SelectorError(FsqlError):
    """A ``--select`` / ``--exclude`` expression is invalid."""


class ExecutionError(FsqlError):
    """DuckDB failed while building a model; mapped back to the model file."""

    exit_code = 1


class IngestError(FsqlError):
    """Data given to ``ingest``/push does not fit the feature set or fails its expectations;
    nothing was stored."""

    exit_code = 1


class LockedError(FsqlError):
    """Another fsql process holds the write lock of the store."""


class RunFailed(FsqlError):
    """The run finished, but some models or expectations failed (exit code 1)."""

    exit_code = 1


class ErrorGroup(FsqlError):
    """Many errors reported at once (sorted by location), e.g. from loading a project."""

    def __init__(self, errors: Sequence[FsqlError]) -> None:
        unique = {(e.format(), e.exit_code): e for e in errors}
        self.errors = sorted(unique.values(), key=_sort_key)
        n = len(self.errors)
        super().__init__(f"{n} error{'s' if n != 1 else ''} found")
        self.exit_code = max((e.exit_code for e in self.errors), default=2)

    def format(self) -> str:
        shown = [e.format() for e in self.errors[:MAX_REPORTED]]
        rest = len(self.errors) - MAX_REPORTED
        if rest > 0:
            shown.append(f"... and {rest} more")
        return "\n".join(shown)

    @staticmethod
    def raise_if(errors: Sequence[FsqlError]) -> None:
        """Raise the single error, or a group, when ``errors`` is not empty."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ErrorGroup(errors)


def _sort_key(e: FsqlError) -> tuple[str, int, int, str]:
    return (e.path or "", e.line or 0, e.col or 0, e.message)
