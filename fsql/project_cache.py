"""Stage 1, warm path: read an unchanged project back from ``target/.cache/project.pickle``.

The signature covers every project file's path, size and mtime (and fsql's own code); only on a
miss is :mod:`fsql.loader` (YAML, pydantic) imported and the project parsed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import replace
from pathlib import Path

from .errors import ConfigError, FsqlError
from .spec import ProjectSpec

__all__ = ["load_project"]

PROJECT_FILE = "fsql_project.yml"
_CACHE = Path("target") / ".cache" / "project.pickle"
_WATCHED = ("models", "macros", "seeds", "expectations", "feature_sets")


def load_project(root: str | Path, *, cache: bool = True) -> ProjectSpec:
    """A ProjectSpec for ``root``: from the cache when no project file changed."""
    root = Path(root).resolve()
    if not (root / PROJECT_FILE).is_file():
        raise ConfigError(f"no {PROJECT_FILE} in {root}", path=str(root),
                          expected="a project folder",
                          hint="run `fsql init DIR` or pass --project-dir")
    key = _signature(root) if cache else ""
    hit = _cached(root, key) if cache else None
    if hit is not None:
        if hit.generic_expectations:
            from .loader import register_generics

            errors: list[FsqlError] = []
            register_generics(hit.generic_expectations, errors)
        return hit
    from .loader import load_project as parse  # YAML + pydantic: only on a cache miss

    spec = parse(root)
    if not cache:
        return spec
    spec = replace(spec, signature=key)
    _store(root, key, spec)
    return spec


def _signature(root: Path) -> str:
    from . import __version__

    h = hashlib.sha256(__version__.encode())
    for p in sorted(root.glob("*.yml")):
        st = p.stat()
        h.update(f"{p.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for folder in _WATCHED:
        for dirpath, dirnames, files in os.walk(root / folder):
            dirnames.sort()
            for f in sorted(files):
                try:
                    st = os.stat(os.path.join(dirpath, f))
                except OSError as e:  # a broken link or a loop: the loader reports it
                    h.update(f"{dirpath}/{f}|{e.errno}\n".encode())
                    continue
                h.update(f"{dirpath}/{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(str(src.stat().st_mtime_ns).encode())  # a changed fsql invalidates
    return h.hexdigest()


def _cached(root: Path, key: str) -> ProjectSpec | None:
    try:
        with open(root / _CACHE, "rb") as fh:
            stored_key, spec = pickle.load(fh)
    except Exception:  # noqa: BLE001 - a missing or corrupt cache is a cold start
        return None
    return spec if stored_key == key and isinstance(spec, ProjectSpec) else None


def _store(root: Path, key: str, spec: ProjectSpec) -> None:
    path = root / _CACHE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump((key, spec), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only project still works, just without the cache
