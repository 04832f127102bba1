"""Unit tests of the error plumbing the golden corpus relies on (in-process, fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsql.cli import main
from fsql.errors import ConfigError, ErrorGroup, ExecutionError, FsqlError, did_you_mean


def _bad_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "fsql_project.yml").write_text("name: p\nprofile:\n  threadz: 2\n", encoding="utf-8")
    (root / "models" / "a.sql").write_text("select 1 as x\n", encoding="utf-8")
    return root


def test_cli_prints_error_without_traceback_and_exits_2(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = _bad_project(tmp_path / "p")
    with pytest.raises(SystemExit) as exc:
        main(["--project-dir", str(root), "run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "fsql_project.yml:3:3: error: unknown key 'threadz'"
    assert "  hint: did you mean 'threads'?" in err
    assert "Traceback" not in err


def test_cli_debug_reraises_the_error(tmp_path: Path) -> None:
    root = _bad_project(tmp_path / "p")
    with pytest.raises(ConfigError) as exc:
        main(["--project-dir", str(root), "--debug", "run"])
    assert exc.value.path == "fsql_project.yml"
    assert (exc.value.line, exc.value.col) == (3, 3)


def test_error_group_reports_twenty_and_counts_the_rest() -> None:
    errors = [ConfigError(f"bad {i:02d}", path="m.yml", line=i + 1, col=1) for i in range(25)]
    text = ErrorGroup(errors).format()
    lines = text.splitlines()
    assert lines[0] == "m.yml:1:1: error: bad 00"
    assert lines[19] == "m.yml:20:1: error: bad 19"
    assert lines[-1] == "... and 5 more"
    assert len(lines) == 21


def test_error_group_sorts_by_location_and_takes_the_worst_exit_code() -> None:
    g = ErrorGroup([ConfigError("b", path="b.yml", line=2, col=1),
                    ExecutionError("a", path="a.sql", line=9, col=4, model="a")])
    assert [e.message for e in g.errors] == ["a", "b"]
    assert g.exit_code == 2
    assert ErrorGroup([ExecutionError("x")]).exit_code == 1


def test_raise_if_raises_single_error_itself() -> None:
    e = ConfigError("only one", path="x.yml", line=1, col=2)
    with pytest.raises(ConfigError) as exc:
        ErrorGroup.raise_if([e])
    assert exc.value is e
    ErrorGroup.raise_if([])  # nothing to raise


def test_format_has_location_model_expected_and_hint() -> None:
    e = FsqlError("unknown ref 'stg_txn'", path="models/a.sql", line=3, col=7, model="a",
                  expected="a model name", hint="did you mean 'stg_txns'?")
    assert e.format().splitlines() == [
        "models/a.sql:3:7: error in model 'a': unknown ref 'stg_txn'",
        "  expected: a model name",
        "  hint: did you mean 'stg_txns'?",
    ]
    assert FsqlError("x", path="p.yml", line=4).location == "p.yml:4:1"
    assert FsqlError("x").format() == "error: x"


def test_did_you_mean() -> None:
    assert did_you_mean("materalized", ["materialized", "tags"]) == "did you mean 'materialized'?"
    assert did_you_mean("zzz", ["materialized", "tags"]) is None
