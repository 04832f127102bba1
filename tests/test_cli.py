"""The CLI as a user runs it: exit codes, output. In this process (``invoke_cli``: click's
CliRunner around the real entry point) unless a real process matters: the entry point
itself, a fresh interpreter's imports, the README's commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, invoke_cli, run_cli


def test_help_imports_no_heavy_modules():
    code = ("import sys; from fsql.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in ('duckdb', 'pandas', 'pyarrow', 'sqlglot', 'numpy') "
            "if m in sys.modules]\nprint(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_version_and_help():
    assert "fsql, version" in run_cli("--version").stdout
    res = run_cli("--help")
    assert res.returncode == 0 and "run" in res.stdout and "versions" in res.stdout


def test_missing_project_exits_2(tmp_path):
    res = invoke_cli("--project-dir", str(tmp_path), "run")
    assert res.returncode == 2
    assert "no fsql_project.yml" in res.stderr and "hint: run `fsql init" in res.stderr
    assert "Traceback" not in res.stderr


def test_run_show_versions_ls_json(make_project):
    root = make_project({"models/a.sql": "{{ config(materialized='table') }}\n"
                                         "select 1 as x union all select 2"})
    res = invoke_cli("--project-dir", str(root), "run")
    assert res.returncode == 0, res.stderr
    assert "SUCCESS" in res.stdout and "a" in res.stdout
    res = invoke_cli("--project-dir", str(root), "run")
    assert "nothing to do" in res.stdout
    res = invoke_cli("--project-dir", str(root), "show", "a")
    assert res.returncode == 0 and "x" in res.stdout and "2" in res.stdout
    res = invoke_cli("--project-dir", str(root), "--log-format", "json", "ls")
    rows = json.loads(res.stdout)
    assert rows[0]["name"] == "a" and rows[0]["live_version"] == 1
    res = invoke_cli("--project-dir", str(root), "--log-format", "json", "versions", "a")
    assert json.loads(res.stdout)[0]["status"] == "live"
    res = invoke_cli("--project-dir", str(root), "show", "b")
    assert res.returncode == 2 and "unknown model 'b'" in res.stderr


def test_run_failure_exit_1_and_json_events(make_project):
    root = make_project({"models/a.sql": "{{ config(materialized='table') }}\n"
                                         "select cast('abc' as integer) as x"})
    res = invoke_cli("--project-dir", str(root), "--log-format", "json", "run")
    assert res.returncode == 1
    events = [json.loads(line) for line in res.stdout.splitlines()]
    done = [e for e in events if e["event"] == "model_done"]
    assert done[0]["status"] == "error" and "Conversion Error" in done[0]["message"]
    assert events[-1]["event"] == "run_done" and events[-1]["exit_code"] == 1


def test_dry_run_prints_plan(make_project):
    root = make_project({"models/a.sql": "select 1 as x"})
    res = invoke_cli("--project-dir", str(root), "run", "--dry-run")
    assert res.returncode == 0
    assert "plan: 1 to build" in res.stdout and "new model" in res.stdout
    assert not (root / "warehouse.duckdb").exists()  # a dry run writes nothing


def test_bad_vars_is_usage_error(make_project):
    root = make_project({"models/a.sql": "select 1 as x"})
    res = invoke_cli("--project-dir", str(root), "run", "--vars", "[1, 2]")
    assert res.returncode == 2 and "expected a mapping" in res.stderr


@pytest.mark.slow
def test_init_and_run_sample_project(tmp_path):
    """The README's commands, each its own process."""
    res = run_cli("init", str(tmp_path / "demo"))
    assert res.returncode == 0, res.stderr
    res = run_cli("--project-dir", str(tmp_path / "demo"), "run", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    again = run_cli("--project-dir", str(tmp_path / "demo"), "run")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    res = run_cli("init", str(tmp_path / "demo"))
    assert res.returncode == 2 and "not empty" in res.stderr


def test_docs_are_generated_from_the_code():
    from fsql.docgen import cli_reference, project_reference

    assert (REPO / "docs" / "cli.md").read_text() == cli_reference(), \
        "run: python -m fsql.docgen"
    assert (REPO / "docs" / "project-reference.md").read_text() == project_reference(), \
        "run: python -m fsql.docgen"


def test_readme_test_command_is_what_ci_runs():
    readme = (REPO / "README.md").read_text()
    assert "```bash\n.ci/run\n```" in readme
    command = ('python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev,gx]" && '
               ".venv/bin/python -m pytest")
    assert f"```bash\n{command}\n```" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.rstrip().endswith(command)


@pytest.mark.slow
def test_docs_generate_materialize_and_online_lookup(tmp_path):
    import fsql

    root = tmp_path / "demo"
    fsql.init_project(root)
    assert fsql.Project(root).run().exit_code == 0
    res = invoke_cli("--project-dir", str(root), "docs", "generate")
    assert res.returncode == 0, res.stderr
    assert (root / "target" / "docs" / "index.html").exists()
    page = (root / "target" / "docs" / "m" / "user_spend_30d.html").read_text()
    assert "spend_30d" in page
    res = invoke_cli("--project-dir", str(root), "--log-format", "json", "materialize")
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert {e["feature_set"] for e in events} >= {"user_spend_30d", "merchant_risk"}
    with fsql.FeatureStore(root) as store:
        out = store.get_online_features(["user_recency:days_since_prev_txn"],
                                        [{"user_id": 1}, {"user_id": 10**9}]).to_dict()
    assert out["user_id"] == [1, 10**9]
    assert out["days_since_prev_txn"][1] is None


def test_readme_links_point_at_existing_docs():
    import re

    readme = (REPO / "README.md").read_text()
    for link in re.findall(r"\]\(((?:docs|bench)/[^)]+)\)", readme):
        assert (REPO / link).exists(), link
