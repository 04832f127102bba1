"""ruff, mypy and the architecture contracts (import-linter) stay clean on fsql/ (the
project's own code-quality gate)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# One planted import per contract of pyproject.toml's [tool.importlinter]: each must break it.
PLANTED = {
    "fsql/graph.py": "import click\nimport duckdb\n",
    "fsql/loader.py": "from fsql.featurestore import store\n",
    "fsql/site/markup.py": "from fsql import cli\nfrom fsql.online import base\n",
}


def test_ruff_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "fsql"], cwd=REPO,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_clean():
    res = subprocess.run([sys.executable, "-m", "mypy", "fsql"], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", "pyproject.toml"],
                          cwd=root, capture_output=True, text=True, timeout=300)


def test_import_contracts_kept():
    res = _lint_imports(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", res.stdout), res.stdout


def test_import_contracts_catch_planted_violations(tmp_path: Path):
    shutil.copytree(REPO / "fsql", tmp_path / "fsql",
                    ignore=shutil.ignore_patterns("__pycache__", "project_template"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    for rel, code in PLANTED.items():
        with open(tmp_path / rel, "a", encoding="utf-8") as f:
            f.write(code)
    res = _lint_imports(tmp_path)  # the copy comes first on sys.path (cwd)
    assert res.returncode != 0, res.stdout
    verdicts = re.findall(r"^(.+) (KEPT|BROKEN)\b", res.stdout, flags=re.M)
    assert len(verdicts) >= 6 and all(v == "BROKEN" for _, v in verdicts), res.stdout


def test_architecture_doc_has_a_line_per_module():
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = [p.relative_to(REPO).as_posix() for p in sorted((REPO / "fsql").rglob("*.py"))
               if "project_template" not in p.parts]
    missing = [m for m in modules if f"| `{m}` |" not in doc]
    assert missing == [], "add a line per module to docs/architecture.md"
