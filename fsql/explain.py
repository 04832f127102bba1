"""Failures from outside fsql (the OS, a damaged database file) explained instead of shown as
"internal error": what happened, to which file, and what to do.

>>> e = explain(OSError(28, "No space left on device", "target/x.json"))
>>> print(e.format())
target/x.json: error: disk full: No space left on device
  expected: free space for the database and target/
  hint: free some space and rerun: live versions stay intact and the next run recovers
"""

from __future__ import annotations

import errno

from .errors import FsqlError

__all__ = ["explain"]

_FULL = ("disk full", "free space for the database and target/",
         "free some space and rerun: live versions stay intact and the next run recovers")
_READ_ONLY = ("not writable", "a writable project folder (target/ and the database)",
              "run from a writable copy of the project, or fix the permissions; read-only "
              "commands (ls, versions, show) work on a read-only project that was built")
_DAMAGED = ("the database file looks damaged (truncated or corrupt)", "a DuckDB file written "
            "by fsql", "restore it (`fsql restore BACKUP`, or a copy you keep), or move it "
            "aside and `fsql run` rebuilds every model from its sources")
_BY_ERRNO = {errno.ENOSPC: _FULL, errno.EDQUOT: _FULL, errno.EACCES: _READ_ONLY,
             errno.EPERM: _READ_ONLY, errno.EROFS: _READ_ONLY}
_BY_TEXT = (("No space left on device", _FULL), ("Read-only file system", _READ_ONLY),
            ("Permission denied", _READ_ONLY), ("not a valid DuckDB database", _DAMAGED),
            ("Could not read enough bytes", _DAMAGED), ("Corrupt", _DAMAGED),
            ("checksum", _DAMAGED), ("Failed to read block", _DAMAGED))


def explain(e: BaseException, path: str | None = None) -> FsqlError | None:
    """An FsqlError for a known outside failure (exit code 2), else None. ``path``: the file
    concerned when the error does not say (DuckDB's errors carry no file name)."""
    if isinstance(e, OSError) and e.errno in _BY_ERRNO:
        what, expected, hint = _BY_ERRNO[e.errno]
        return FsqlError(f"{what}: {e.strerror}", path=_path(e) or path, expected=expected,
                         hint=hint)
    text = str(e)
    for needle, (what, expected, hint) in _BY_TEXT:
        if needle in text:
            return FsqlError(f"{what}: {text.splitlines()[0]}", path=_path(e) or path,
                             expected=expected, hint=hint)
    return None


def _path(e: BaseException) -> str | None:
    name = getattr(e, "filename", None)
    return str(name) if name else None
