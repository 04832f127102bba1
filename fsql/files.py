"""Reading a project's files without "internal error": UTF-8 with the place of a bad byte,
unreadable files and symlink loops as ConfigErrors naming the path.

>>> import tempfile, os
>>> d = Path(tempfile.mkdtemp()); (d / "m").mkdir(); (d / "m" / "a.sql").write_text("x")
1
>>> os.symlink("..", d / "m" / "up"); errors = []
>>> [p.name for p in walk(d, "m", errors)], errors[0].message
(['a.sql'], "symlink loop: 'm/up' points back to a folder that contains it")
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError, FsqlError

__all__ = ["read_utf8", "walk"]


def read_utf8(path: Path, rel: str, model: str | None = None) -> str:
    """The text of ``path``; ConfigError at the line:col of the first invalid byte, or naming
    the OS error (permission denied, a symlink loop, ...)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the file: {e.strerror or e}", path=rel, model=model,
                          expected="a readable file",
                          hint="check its permissions, or fix / remove the symlink") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigError("file is not valid UTF-8", path=rel, line=line, col=col,
                          model=model, expected="UTF-8 text",
                          hint="save the file as UTF-8") from None


def walk(root: Path, folder: str, errors: list[FsqlError]) -> list[Path]:
    """Every file under ``root/folder``, following folder symlinks (as ``Path.rglob``) but
    reporting a symlink loop, a link that does not resolve, or an unreadable folder once
    each (in ``errors``) instead of failing or recursing forever."""
    top = root / folder
    out: list[Path] = []
    if top.is_dir():
        _visit(root, top, frozenset({os.path.realpath(top)}), out, errors)
    return out


def _visit(root: Path, folder: Path, ancestors: frozenset[str], out: list[Path],
           errors: list[FsqlError]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        errors.append(_unreadable(root, folder, e))
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError as e:  # a link that loops onto itself
            errors.append(_unreadable(root, path, e))
            continue
        if is_dir:
            real = os.path.realpath(path)
            if any(a == real or a.startswith(real + os.sep) for a in ancestors):
                errors.append(ConfigError(
                    f"symlink loop: '{_rel(root, path)}' points back to a folder that "
                    "contains it", path=_rel(root, path), expected="links to folders outside "
                    "their own parents", hint="remove the link or point it elsewhere"))
            else:
                _visit(root, path, ancestors | {real}, out, errors)
        elif is_file:
            out.append(path)
        elif entry.is_symlink():
            try:
                os.stat(path)
            except OSError as e:
                errors.append(_unreadable(root, path, e))


def _unreadable(root: Path, path: Path, e: OSError) -> ConfigError:
    return ConfigError(f"cannot read '{_rel(root, path)}': {e.strerror or e}",
                       path=_rel(root, path), expected="a readable file or folder",
                       hint="fix or remove the symlink, or check permissions")


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
