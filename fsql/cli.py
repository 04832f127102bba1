"""The ``fsql`` command: a thin click layer over ``fsql.Project`` (flags mirror keyword args).

Heavy modules (duckdb, pandas, sqlglot) are imported inside commands, so ``fsql --help`` is fast.
Exit codes: 0 ok, 1 the run finished with failures, 2 nothing could start.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import FsqlError

__all__ = ["cli", "main"]


class Ctx:
    """Options shared by every command."""

    def __init__(self, project_dir: str, debug: bool, quiet: bool, log_format: str,
                 target: str | None = None) -> None:
        self.project_dir, self.debug, self.quiet, self.log_format = (project_dir, debug, quiet,
                                                                     log_format)
        self.target = target

    def project(self, **kwargs: Any) -> Any:
        from .api import Project

        return Project(self.project_dir, target=self.target, **kwargs)

    def echo(self, text: str = "", **style: Any) -> None:
        if not self.quiet and self.log_format == "text":
            click.secho(text, **style)

    def event(self, **fields: Any) -> None:
        if self.log_format == "json":
            click.echo(json.dumps(fields, default=str))


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="fsql")
@click.option("--project-dir", default=".", show_default=True, envvar="FSQL_PROJECT_DIR",
              help="Folder holding fsql_project.yml.")
@click.option("--target", "-t", default=None, envvar="FSQL_TARGET",
              help="A target of fsql_project.yml's `targets:` (another database or engine, "
                   "e.g. spark).")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors and the summary line.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one JSON event per line (for CI logs).")
@click.pass_context
def cli(ctx: click.Context, project_dir: str, target: str | None, debug: bool, quiet: bool,
        log_format: str) -> None:
    """fsql: a feature store that feels like dbt.

    Write features as Jinja SQL models with YAML metadata; fsql builds them in DuckDB as
    versioned feature tables, checks them before they go live, and serves them to ML.
    """
    ctx.obj = Ctx(project_dir, debug, quiet, log_format, target)


def _vars(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        import yaml

        parsed = yaml.safe_load(value)
    except Exception as e:  # noqa: BLE001 - any YAML problem is a usage error
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise click.BadParameter(f"not valid YAML/JSON ({problem}); expected a mapping, "
                                 "e.g. --vars '{\"min_amount\": 5}'") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("expected a mapping, e.g. '{\"as_of\": \"2026-11-01\"}'")
    return parsed


def _params(items: tuple[str, ...]) -> dict[str, Any]:
    """``--param name=value`` pairs; values are read as YAML scalars (5 -> 5, x -> "x")."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE, e.g. --param min_rows=10")
        try:
            out[name.strip()] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            out[name.strip()] = value
    return out


select_opt = click.option("--select", "-s", multiple=True,
                          help="dbt selectors: m, +m, m+, tag:x, path:models/f, "
                               "config.materialized:feature_set (space = union, comma = and).")
exclude_opt = click.option("--exclude", multiple=True, help="Selectors to leave out.")
vars_opt = click.option("--vars", "vars_", default=None,
                        help="YAML/JSON mapping overriding project vars.")


@cli.command()
@click.argument("directory", default="fsql_demo")
@pass_ctx
def init(c: Ctx, directory: str) -> None:
    """Create a new project in DIRECTORY from the sample (card transactions)."""
    from .api import init_project

    dest = init_project(directory)
    c.echo(f"created {dest} — next: cd {dest} && fsql run", fg="green")


@cli.command()
@select_opt
@exclude_opt
@vars_opt
@pass_ctx
def compile(c: Ctx, select: tuple[str, ...], exclude: tuple[str, ...],
            vars_: str | None) -> None:
    """Render and compile models; write target/compiled/ and target/manifest.json.

    With a --target whose engine is spark, also check that every model carries over to Spark
    (path:line:col and a rewrite hint for what does not) and write its Spark SQL to
    target/compiled_spark/.
    """
    from .manifest import compile_project  # Project(...).compile() without importing DuckDB

    t0 = time.perf_counter()
    manifest = compile_project(c.project_dir, _vars(vars_),
                               versions=lambda: c.project(vars=_vars(vars_)))
    chosen = manifest.graph.select(list(select), list(exclude))
    where = "target/"
    if c.target and _target_engine(manifest, c.target) == "spark":  # lint + Spark SQL files
        from .engines.spark_compile import write_spark_sql

        write_spark_sql(manifest, chosen, Path(c.project_dir) / "target" / "compiled_spark")
        where = "target/ (Spark SQL: target/compiled_spark/)"
    c.echo(f"compiled {len(chosen)} models in {time.perf_counter() - t0:.2f}s -> {where}")


def _target_engine(manifest: Any, target: str) -> str:
    found = manifest.project.targets.get(target)
    return found.engine if found is not None else manifest.project.profile.engine


@cli.command()
@select_opt
@exclude_opt
@vars_opt
@click.option("--full-refresh", is_flag=True, help="Build new versions even if unchanged.")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="Models built concurrently (default: profile.threads, else the CPU "
              "count, at most 4).")
@click.option("--fail-fast", is_flag=True, help="Stop scheduling after the first failure.")
@click.option("--dry-run", is_flag=True, help="Print the plan (build/skip and why) only.")
@click.option("--profile", is_flag=True, help="Record DuckDB's operator profile per model "
              "(shown by `fsql docs`).")
@pass_ctx
def run(c: Ctx, select: tuple[str, ...], exclude: tuple[str, ...], vars_: str | None,
        full_refresh: bool, threads: int | None, fail_fast: bool, dry_run: bool,
        profile: bool) -> None:
    """Build changed models as new versions, validate them, publish those that pass."""
    from .report import RunReporter

    project = c.project(vars=_vars(vars_))
    reporter = RunReporter(c.quiet, c.event, c.log_format == "json")
    with reporter:
        result = project.run(list(select), list(exclude), full_refresh=full_refresh,
                             threads=threads, fail_fast=fail_fast, dry_run=dry_run,
                             reporter=reporter, profile=profile)
    if dry_run:
        click.echo(result.plan.format())
        return
    reporter.summary(result)
    sys.exit(result.exit_code)


@cli.command()
@vars_opt
@click.option("--full-refresh", is_flag=True, help="Reload even if the CSV is unchanged.")
@pass_ctx
def seed(c: Ctx, vars_: str | None, full_refresh: bool) -> None:
    """Load seeds/*.csv as versioned tables."""
    from .report import RunReporter

    reporter = RunReporter(c.quiet, c.event, c.log_format == "json")
    with reporter:
        result = c.project(vars=_vars(vars_)).seed(full_refresh=full_refresh, reporter=reporter)
    reporter.summary(result)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("model")
@click.option("--start", required=True, help="First interval to rebuild (ISO date/time).")
@click.option("--end", required=True, help="End of the range (exclusive).")
@vars_opt
@pass_ctx
def backfill(c: Ctx, model: str, start: str, end: str, vars_: str | None) -> None:
    """Rebuild the intervals of an incremental MODEL in [START, END) as a new version."""
    from .report import RunReporter

    reporter = RunReporter(c.quiet, c.event, c.log_format == "json")
    with reporter:
        result = c.project(vars=_vars(vars_)).backfill(model, start, end, reporter=reporter)
    reporter.summary(result)
    sys.exit(result.exit_code)


@cli.command(name="ls")
@click.option("--feature-sets", is_flag=True, help="List feature sets with entities, "
              "timestamp, TTL and features.")
@pass_ctx
def ls_(c: Ctx, feature_sets: bool) -> None:
    """List models: materialization, live version, last status."""
    from .report import table

    if feature_sets:
        _ls_feature_sets(c)
        return
    rows = c.project().ls()
    if c.log_format == "json":
        click.echo(json.dumps(rows))
        return
    table(["name", "materialized", "live", "last status", "path"],
          [[r["name"], r["materialized"], f"v{r['live_version']}" if r["live_version"] else "-",
            r["last_status"] or "-", r["path"]] for r in rows])


def _ls_feature_sets(c: Ctx) -> None:
    from .featurestore.serving import online_status
    from .featurestore.store import FeatureStore
    from .report import table

    with FeatureStore(c.project_dir) as store:
        infos = store.feature_sets()
    status = online_status(c.project_dir)
    if c.log_format == "json":
        click.echo(json.dumps([{**i.to_dict(), "online_status": status.get(i.name)}
                               for i in infos.values()], default=str))
        return
    table(["feature set", "entities", "keys", "timestamp", "ttl", "online", "live", "features"],
          [[i.name, ", ".join(i.entities), ", ".join(i.join_keys), i.timestamp,
            _ttl(i.ttl_seconds), _online(i.online, status.get(i.name)),
            f"v{i.version}" if i.version else "-", ", ".join(i.features)]
           for i in infos.values()])


def _online(enabled: bool, st: dict[str, Any] | None) -> str:
    if st is None:
        return "yes (not materialized)" if enabled else "no"
    when = (st["materialized_at"] or "pushed")[:19].replace("T", " ")
    return f"v{st['version']}, {st['rows']} rows, {when}"


@cli.command()
@click.option("--select", "-s", multiple=True,
              help="Only these feature sets (repeatable; default: every online: true one).")
@click.option("--as-of", default=None, help="Materialize the state at this time (default: now).")
@click.option("--full", is_flag=True, help="Rewrite everything (default: incremental).")
@pass_ctx
def materialize(c: Ctx, select: tuple[str, ...], as_of: str | None, full: bool) -> None:
    """Write the latest value per entity (within TTL) of online feature sets to the online
    store."""
    from .featurestore.serving import materialize_project
    from .report import table

    results = materialize_project(c.project_dir, select=list(select) or None, as_of=as_of,
                                  full=full)
    for r in results:
        c.event(event="materialize", **r.to_dict())
    if not results:
        c.echo("nothing to materialize: no feature set with online: true and a live version")
        return
    if c.log_format == "text" and not c.quiet:
        table(["feature set", "version", "mode", "written", "deleted", "online rows", "as of",
               "seconds"],
              [[r.feature_set, f"v{r.version}" if r.version else "-", r.mode,
                str(r.rows_written), str(r.rows_deleted), str(r.row_count), r.as_of,
                f"{r.seconds:.2f}"] for r in results])


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8666, show_default=True, type=click.IntRange(1, 65535))
@click.option("--allow-host", multiple=True, help="Another Host name clients use (repeat).")
@click.option("--cors-origin", multiple=True, help="A site allowed to call from a browser.")
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="Bearer tokens: lines 'write <token>' / 'read <token>'.")
@click.option("--max-entities", default=10_000, show_default=True, type=click.IntRange(1),
              help="Entity keys (or pushed rows) per request.")
@click.option("--insecure", is_flag=True, help="Allow a non-loopback bind without a token.")
@pass_ctx
def serve(c: Ctx, host: str, port: int, allow_host: tuple[str, ...],
          cors_origin: tuple[str, ...], token_file: str | None, max_entities: int,
          insecure: bool) -> None:
    """Serve online features over HTTP: get-online-features, push, health, OpenAPI, /docs.

    Tokens come from $FSQL_SERVE_TOKEN (read + write), $FSQL_SERVE_READ_TOKEN (read) and
    --token-file. One access-log line per request on stderr (none with --quiet).
    """
    from .featurestore.serving import serve_project
    from .online.security import ServerPolicy, load_tokens

    policy = ServerPolicy.for_bind(host, allow_hosts=allow_host, cors_origins=cors_origin,
                                   tokens=load_tokens(token_file), max_entities=max_entities)
    auth = "bearer tokens" if policy.tokens else "no authentication"
    c.echo(f"serving online features on http://{host}:{port} ({auth}; docs at /docs; "
           "Ctrl+C to stop)")
    serve_project(c.project_dir, host, port, insecure=insecure, access_log=not c.quiet,
                  policy=policy)


def _ttl(seconds: float | None) -> str:
    if not seconds:
        return "none"
    return f"{seconds / 86400:g}d" if seconds % 86400 == 0 else f"{seconds:g}s"


@cli.group()
def dataset() -> None:
    """Point-in-time training sets: create, list, show."""


@dataset.command("create")
@click.option("--entities", "entities", required=True,
              help="Entity rows: a CSV/Parquet file, a SQL query, or a model name.")
@click.option("--features", "-f", multiple=True, required=True,
              help="Feature refs 'feature_set:column' or 'feature_set:*' (repeatable, or "
                   "comma-separated).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the training set to this Parquet file.")
@click.option("--name", default=None, help="Save it under this name (re-creatable later).")
@click.option("--full-feature-names", is_flag=True, help="Name columns feature_set__column.")
@click.option("--entity-timestamp", default=None, help="The entity event-time column.")
@pass_ctx
def dataset_create(c: Ctx, entities: str, features: tuple[str, ...], out: str | None,
                   name: str | None, full_feature_names: bool,
                   entity_timestamp: str | None) -> None:
    """Build a point-in-time correct training set."""
    from .featurestore.store import FeatureStore

    refs = [f.strip() for item in features for f in item.split(",") if f.strip()]
    with FeatureStore(c.project_dir) as store:
        ts = store.get_training_set(_entity_source(entities), refs,
                                    full_feature_names=full_feature_names,
                                    entity_timestamp=entity_timestamp)
        if out:
            ts.to_parquet(out)
            c.echo(f"wrote {ts.manifest['entity_rows']:,} rows to {out}")
        if name:
            store.save_training_set(name, ts)
            c.echo(f"saved training set '{name}' (pinned: " + ", ".join(
                f"{k} v{v['version']}" for k, v in ts.manifest["feature_sets"].items()) + ")")
        if not out and not name:
            from .report import table

            df = ts.to_pandas().head(10)
            table(list(df.columns), [[_cell(v) for v in r] for r in df.itertuples(index=False)])


def _entity_source(value: str) -> str:
    lower = value.lower()
    if lower.endswith((".csv", ".csv.gz", ".tsv")):
        return f"select * from read_csv('{_abs(value)}')"
    if lower.endswith(".parquet"):
        return f"select * from read_parquet('{_abs(value)}')"
    return value


def _abs(path: str) -> str:
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise click.BadParameter(f"no such file: {path}", param_hint="--entities")
    return str(p.resolve()).replace("'", "''")


@dataset.command("ls")
@pass_ctx
def dataset_ls(c: Ctx) -> None:
    """List saved training sets."""
    from .featurestore.store import FeatureStore
    from .report import table

    with FeatureStore(c.project_dir) as store:
        saved = store.list_saved_training_sets()
    if c.log_format == "json":
        click.echo(json.dumps(saved, default=str))
        return
    table(["name", "created", "rows", "feature sets (pinned versions)"],
          [[s["name"], s["created_at"][:19], f"{s['entity_rows']:,}",
            ", ".join(f"{k} v{v['version']}" for k, v in s["feature_sets"].items())]
           for s in saved])


@dataset.command("show")
@click.argument("name")
@click.option("--limit", "-n", default=10, show_default=True)
@pass_ctx
def dataset_show(c: Ctx, name: str, limit: int) -> None:
    """Show a saved training set's manifest and first rows (re-created from its versions)."""
    from .featurestore.store import FeatureStore
    from .report import table

    with FeatureStore(c.project_dir) as store:
        ts = store.get_saved_training_set(name)
        df = ts.to_pandas().head(limit)
        click.echo(json.dumps(ts.manifest | {"created_at": next(
            s["created_at"] for s in store.list_saved_training_sets() if s["name"] == name)},
            indent=1, default=str))
    table(list(df.columns), [[_cell(v) for v in r] for r in df.itertuples(index=False)])


@cli.group()
def docs() -> None:
    """The documentation site: lineage, statistics, drift, expectations, runs."""


@docs.command("generate")
@pass_ctx
def docs_generate(c: Ctx) -> None:
    """Write a static, offline site to target/docs/ (open target/docs/index.html)."""
    res = c.project().docs_generate()
    c.echo(f"wrote {len(res.files)} files ({res.bytes / 1e6:.1f} MB) to {res.out_dir} in "
           f"{res.duration_s:.2f}s")


@docs.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@pass_ctx
def docs_serve(c: Ctx, host: str, port: int) -> None:
    """Serve target/docs/ on 127.0.0.1 (run `fsql docs generate` first)."""
    from .site import serve_site

    out = c.project().target / "docs"
    if not (out / "index.html").exists():
        from .errors import ConfigError

        raise ConfigError(f"no site in {out}", expected="a generated site",
                          hint="run `fsql docs generate` first")

    def ready(server: Any) -> None:
        addr = server.server_address
        c.echo(f"serving {out} on http://{addr[0]}:{addr[1]}/ (Ctrl+C to stop)")

    serve_site(out, host, port, on_ready=ready)


@cli.command()
@click.argument("model")
@click.option("--limit", "-n", default=10, show_default=True, help="Rows to show.")
@click.option("--version", "version", type=int, default=None, help="Show version N.")
@click.option("--as-of", default=None, help="Show the version that was live at this time.")
@pass_ctx
def show(c: Ctx, model: str, limit: int, version: int | None, as_of: str | None) -> None:
    """Print the first rows of a model's live (or given) version."""
    from .report import table

    cols, rows = c.project().show(model, limit=limit, version=version, as_of=as_of)
    table(cols, [[_cell(v) for v in r] for r in rows])


def _cell(v: Any) -> str:
    return "NULL" if v is None else str(v)


@cli.command()
@click.argument("model")
@pass_ctx
def versions(c: Ctx, model: str) -> None:
    """List every version of MODEL with status, rows and fingerprint."""
    from .report import table

    rows = c.project().versions(model)
    if c.log_format == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], default=str))
        return
    table(["version", "status", "created", "run", "rows", "fingerprint", "checks", "inputs"],
          [[f"v{r.version}", r.status, str(r.created_at)[:19], r.run_id,
            "-" if r.row_count is None else str(r.row_count), r.fingerprint[:12],
            _checks(r.checks), ", ".join(f"{k} v{v}" for k, v in sorted(r.input_versions.items()))]
           for r in rows])


@cli.command()
@click.argument("model")
@click.argument("version", type=int)
@pass_ctx
def rollback(c: Ctx, model: str, version: int) -> None:
    """Make VERSION of MODEL live again (dependants rebuild on the next run)."""
    old = c.project().rollback(model, version)
    if old == version:
        c.echo(f"{model} v{version} is already live")
    else:
        c.echo(f"{model}: live v{old} -> v{version}; pinned until its SQL changes; "
               f"dependants rebuild on the next `fsql run`", fg="green")


@cli.command()
@click.option("--keep", default=5, show_default=True, help="Versions kept per model "
              "(besides the live one).")
@click.option("--older-than", default=None, help="Only remove versions older than this "
              "(e.g. 7d).")
@click.option("--dry-run", is_flag=True, help="Report what would be removed.")
@pass_ctx
def gc(c: Ctx, keep: int, older_than: str | None, dry_run: bool) -> None:
    """Remove old versions; never a live one or one pinned by a saved training set."""
    res = c.project().gc(keep=keep, older_than=older_than, dry_run=dry_run)
    if c.log_format == "json":
        click.echo(json.dumps(res.to_dict()))
        return
    verb = "would remove" if dry_run else "removed"
    c.echo(f"{verb} {len(res.removed)} versions, {res.bytes_reclaimed / 1e6:.1f} MB"
           + (f"; kept {len(res.kept_pinned)} pinned by saved training sets"
              if res.kept_pinned else ""))
    for v in res.removed:
        c.echo("  " + v)


@cli.command()
@click.argument("dest", type=click.Path())
@pass_ctx
def backup(c: Ctx, dest: str) -> None:
    """Copy the warehouse to DEST (a file or folder), consistently: waits for no writer."""
    from .backup import backup_database

    size = backup_database(c.project().database, dest)
    c.echo(f"backed up {c.project().database.name} to {dest} ({size / 1e6:.1f} MB)")


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False))
@pass_ctx
def restore(c: Ctx, source: str) -> None:
    """Replace the warehouse by the backup SOURCE (the current file is moved aside)."""
    from .backup import restore_database

    aside = restore_database(c.project().database, source)
    c.echo(f"restored {c.project().database.name} from {source}"
           + (f"; the replaced file is {aside.name}" if aside else ""))


@cli.command()
@click.argument("model")
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.option("--sample", default=5, show_default=True, help="Keys shown per kind of change.")
@pass_ctx
def diff(c: Ctx, model: str, a: int, b: int, sample: int) -> None:
    """Compare versions A and B of MODEL: schema, rows, changed keys."""
    d = c.project().diff(model, a, b, sample=sample)
    if c.log_format == "json":
        click.echo(json.dumps(d.to_dict(), default=str))
        return
    click.echo(f"{model}: v{a} -> v{b}")
    click.echo(f"  rows: {d.rows_a:,} -> {d.rows_b:,} ({d.rows_b - d.rows_a:+,})")
    for col, typ in d.added_columns:
        click.echo(f"  + column {col} {typ}")
    for col, typ in d.removed_columns:
        click.echo(f"  - column {col} {typ}")
    for col, ta, tb in d.retyped_columns:
        click.echo(f"  ~ column {col}: {ta} -> {tb}")
    if d.key:
        click.echo(f"  by key ({', '.join(d.key)}): {d.added_rows:,} added, "
                   f"{d.removed_rows:,} removed, {d.changed_rows:,} changed")
        for kind, rows in d.samples.items():
            for r in rows:
                click.echo(f"    {kind}: {r}")
    else:
        click.echo("  (no unique key: set config unique_key or make it a feature_set to "
                   "compare rows)")


@cli.command()
@select_opt
@exclude_opt
@click.option("--version", "version", type=int, default=None,
              help="Test version N instead of the live one.")
@click.option("--engine", type=click.Choice(["fsql", "gx"]), default="fsql", show_default=True,
              help="gx: run the same suite through great_expectations (pip install fsql[gx]).")
@click.option("--store-failures", is_flag=True,
              help="Write failing rows to fsql_failures.<model>__<expectation>.")
@click.option("--junit-xml", type=click.Path(dir_okay=False), default=None,
              help="Write a JUnit XML report (one testcase per expectation).")
@click.option("--result-format", type=click.Choice(["BOOLEAN_ONLY", "BASIC", "SUMMARY",
                                                    "COMPLETE"]), default="SUMMARY",
              show_default=True, help="GX result format stored with each result.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A GX suite parameter ({\"$PARAMETER\": NAME} kwargs); over project vars.")
@pass_ctx
def test(c: Ctx, select: tuple[str, ...], exclude: tuple[str, ...], version: int | None,
         engine: str, store_failures: bool, junit_xml: str | None, result_format: str,
         params: tuple[str, ...]) -> None:
    """Run expectations on the live versions (and sources); exit 1 if an error-level one fails."""
    from .report import test_summary

    res = c.project().test(list(select), list(exclude), version=version, engine=engine,
                           store_failures=store_failures, junit_xml=junit_xml,
                           result_format=result_format, params=_params(params))
    if c.log_format == "json":
        click.echo(json.dumps(res.to_dict(), default=str))
    else:
        test_summary(res, c.quiet)
    sys.exit(res.exit_code)


@cli.group()
def expectations() -> None:
    """The expectation vocabulary (Great Expectations' names) and GX suite export."""


@expectations.command("list")
@pass_ctx
def expectations_list(c: Ctx) -> None:
    """Every expectation type with its kwargs."""
    from .expectations import list_expectations
    from .report import table

    types = list_expectations()
    if c.log_format == "json":
        click.echo(json.dumps([{"name": t.name, "kind": t.kind, "doc": t.doc,
                                "kwargs": [k.name for k in t.kwargs]} for t in types]))
        return
    table(["expectation", "kind", "kwargs", "description"],
          [[t.name, t.kind, ", ".join(("*" if k.required else "") + k.name for k in t.kwargs),
            t.doc] for t in types])


@expectations.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False), default="target/gx",
              show_default=True, help="Folder for <model>.json GX ExpectationSuite files.")
@pass_ctx
def expectations_export(c: Ctx, out: str) -> None:
    """Write each model's expectations as a GX 1.x ExpectationSuite JSON file."""
    from pathlib import Path

    from .expectations import to_gx_suite

    project = c.project()
    folder = Path(out) if Path(out).is_absolute() else project.root / out
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    items = [(n_, m.checks) for n_, m in project.spec.models.items()] + \
        [(k, s.checks) for k, s in project.spec.sources.items()]
    for name, checks in sorted(items):
        if checks:
            (folder / f"{name}.json").write_text(json.dumps(to_gx_suite(name, checks), indent=1,
                                                            default=str))
            n += 1
    c.echo(f"wrote {n} GX suites to {folder}")


@cli.command()
@click.argument("model")
@click.option("--version", "version", type=int, default=None, help="Version (default: live).")
@click.option("--column", "column", default=None, help="Only this column (full detail).")
@pass_ctx
def stats(c: Ctx, model: str, version: int | None, column: str | None) -> None:
    """Column statistics of a model version: nulls, distinct, min/max, mean, quantiles."""
    from .report import table

    prof = c.project().stats(model, version=version)
    cols = [s for s in prof.columns if column is None or s.column == column]
    if column is not None and not cols:
        from .errors import ConfigError, did_you_mean

        names = [s.column for s in prof.columns]
        raise ConfigError(f"'{model}' has no column '{column}'", model=model,
                          expected="one of: " + ", ".join(names),
                          hint=did_you_mean(column, names) or "see `fsql stats " + model + "`")
    if c.log_format == "json" or column is not None:
        click.echo(json.dumps([s.to_dict() for s in cols], indent=None if c.log_format ==
                              "json" else 1, default=str))
        return
    table(["column", "type", "count", "nulls", "distinct", "min", "max", "mean", "p50"],
          [[s.column, s.type, f"{s.count:,}", f"{s.nulls:,}",
            "-" if s.distinct is None else f"{'~' if s.distinct_approx else ''}{s.distinct:,}",
            _short(s.min), _short(s.max), _short(s.mean), _short(s.quantiles.get("p50"))]
           for s in cols])


def _short(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)[:19]


@cli.command()
@click.argument("model")
@click.argument("a", type=int, required=False)
@click.argument("b", type=int, required=False)
@pass_ctx
def drift(c: Ctx, model: str, a: int | None, b: int | None) -> None:
    """Drift of MODEL's live version (or B) vs its predecessor (or A): PSI, KS, mean shift."""
    from .report import table

    rows = c.project().drift(model, a, b)
    if c.log_format == "json":
        click.echo(json.dumps([d.to_dict() for d in rows], default=str))
        return
    if not rows:
        c.echo(f"{model}: no previous version to compare with")
        return
    table(["column", "psi", "ks", "mean shift (sd)", "null rate change", "new", "vanished"],
          [[d.column, _short(d.psi), _short(d.ks), _short(d.mean_shift_sd),
            _short(d.null_rate_change), ", ".join(map(str, d.new_categories[:5])),
            ", ".join(map(str, d.vanished_categories[:5]))] for d in rows])


def _checks(checks: list[dict[str, Any]]) -> str:
    ok = sum(1 for c in checks if c.get("success"))
    return f"{ok}/{len(checks)} passed" if checks else "-"


def _subcommand_target(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    obj = ctx.find_object(Ctx)
    if value and obj is not None:
        obj.target = value


def _add_target_option(group: click.Group) -> None:
    """``fsql run --target spark`` as dbt users type it (the same as ``fsql --target spark
    run``): every subcommand takes --target too."""
    for cmd in group.commands.values():
        if isinstance(cmd, click.Group):
            _add_target_option(cmd)
        elif cmd.name != "init" and not any(p.name == "target" for p in cmd.params):
            cmd.params.append(click.Option(
                ["--target", "-t"], expose_value=False,
                callback=_subcommand_target,
                help="A target of fsql_project.yml's `targets:` (as `fsql --target`)."))


_add_target_option(cli)


def help_pages() -> list[tuple[str, str]]:
    """(command path, ``--help`` text) of every command, depth first: docs/cli.md."""
    out: list[tuple[str, str]] = []

    # contexts chained as when a user runs the command: the group's settings (``-h``, width)
    # reach the subcommands
    def walk(cmd: click.Command, name: str, parent: click.Context | None) -> None:
        with cmd.make_context(name, [], parent=parent, resilient_parsing=True) as ctx:
            out.append((ctx.command_path, cmd.get_help(ctx)))
            if isinstance(cmd, click.Group):
                for sub in sorted(cmd.commands):
                    walk(cmd.commands[sub], sub, ctx)

    walk(cli, "fsql", None)
    return out


_INTERRUPTED = False


def _first_interrupt(signum: int, frame: Any) -> None:
    """Ctrl+C raises KeyboardInterrupt once; later ones only say that fsql is stopping, so a
    second Ctrl+C never cuts the cancellation short (or kills the process mid-way)."""
    import signal

    global _INTERRUPTED
    _INTERRUPTED = True
    signal.signal(signal.SIGINT, lambda *_: click.echo("stopping...", err=True))
    raise KeyboardInterrupt


def _interrupted() -> None:
    import signal

    # ignored at the OS level: Python's shutdown resets its own handlers, and a Ctrl+C then
    # would end the process as killed (-2) instead of 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    click.echo("interrupted: running queries cancelled, unfinished versions recorded as "
               "cancelled; live versions are untouched", err=True)
    sys.exit(130)  # 128 + SIGINT, as shells report it


def main(argv: list[str] | None = None) -> None:
    """Entry point: FsqlError prints itself (no traceback unless --debug) and sets the exit code."""
    import signal

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _first_interrupt)
    try:
        cli.main(args=args, prog_name="fsql", standalone_mode=False)
    except FsqlError as e:
        if debug:
            raise
        click.secho(e.format(), fg="red", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort as e:
        if isinstance(e.__cause__, KeyboardInterrupt):  # click turns Ctrl+C into Abort
            _interrupted()
        click.echo("aborted", err=True)
        sys.exit(2)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except KeyboardInterrupt:
        _interrupted()
    except Exception as e:  # noqa: BLE001 - last resort, keeps tracebacks behind --debug
        if debug:
            raise
        if _INTERRUPTED:  # e.g. DuckDB's "Query interrupted" for a Ctrl+C in its call
            _interrupted()
        from .explain import explain

        known = explain(e)
        if known is not None:  # the OS or a damaged file, not a bug: say what to do
            click.secho(known.format(), fg="red", err=True)
            sys.exit(known.exit_code)
        click.secho(f"internal error: {type(e).__name__}: {e}\n  hint: rerun with --debug and "
                    f"report it", fg="red", err=True)
        sys.exit(2)

