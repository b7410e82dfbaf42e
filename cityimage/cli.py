"""The ``cityimage`` command: the demo, weekly runs, backfills, ingestion, status and SQL.

Heavy imports (Prefect, Great Expectations) happen inside the commands that need them, so
``cityimage --help`` and ``cityimage status`` answer at once.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from cityimage.settings import Settings, SettingsError, load_settings
from cityimage.weeks import Week

app = typer.Typer(
    help="cityimage: measure how a city's image travels on overseas social media, week by week.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
# Errors are not wrapped: they are read in logs and by scripts, whatever the terminal width.
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _quiet_prefect() -> None:
    """Local runs need no telemetry and a patient temporary server on small shared machines."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")


@app.command()
def demo(
    home: Annotated[Path, typer.Option(help="Folder for the sample inbox, warehouse, snapshots and reports.")] = Path("var"),
) -> None:
    """Write the bundled sample inbox, run the weekly flow over its weeks, and say where everything is."""
    from cityimage.sample import default_weeks, write_sample_inbox

    os.environ["CITYIMAGE_HOME"] = str(home)
    _ensure_demo_key(home)
    settings = _settings()
    weeks = default_weeks()
    first, last = weeks[0], weeks[-1]
    with console.status("writing the sample inbox"):
        truth = write_sample_inbox(settings.inbox, weeks)
    console.print(f"sample inbox: [bold]{settings.inbox}[/bold] ({len(truth.files)} files)")
    _run_backfill(settings, first, last)
    _print_outputs(settings, last)


def _ensure_demo_key(home: Path) -> None:
    """The demo needs a pseudonymisation key; it makes one in its own folder, never in the repository."""
    if os.environ.get("CITYIMAGE_AUTHOR_KEY"):
        return
    key_file = home / ".author_key"
    if not key_file.is_file():
        home.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    os.environ["CITYIMAGE_AUTHOR_KEY"] = key_file.read_text().strip()


def _print_outputs(settings: Settings, week: Week) -> None:
    from publish.snapshot import manifest_path, partition_path

    table = Table(title="cityimage outputs", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("where", overflow="fold")
    table.add_row("warehouse (DuckDB)", str(settings.warehouse))
    table.add_row(f"KPI snapshot {week.id}", str(partition_path(settings.snapshots, "kpi_weekly", week.id)))
    table.add_row("manifest", str(manifest_path(settings.snapshots, week.id)))
    table.add_row(f"report {week.id}", str(settings.reports / f"{week.id}.html"))
    table.add_row("report index", str(settings.reports / "index.html"))
    console.print(table)


@app.command()
def run(
    week: Annotated[Optional[str], typer.Option(help="ISO week, e.g. 2026-W47; default: last complete week.")] = None,
    no_ingest: Annotated[bool, typer.Option("--no-ingest", help="Skip loading the inbox.")] = False,
) -> None:
    """Run the weekly pipeline for one week: ingest, facts, quality gates, KPIs, publish."""
    settings = _settings()
    target = _parse_week(week) if week else None
    _quiet_prefect()

    def action() -> None:
        from flows.weekly import weekly_pipeline

        weekly_pipeline(week=target.id if target else None, ingest=not no_ingest)

    _guard(settings, f"weekly pipeline {target.id if target else '(last week)'}", action)


@app.command()
def backfill(
    first: Annotated[str, typer.Option("--from", help="First ISO week, e.g. 2026-W40.")],
    last: Annotated[str, typer.Option("--to", help="Last ISO week, e.g. 2026-W47.")],
) -> None:
    """Ingest the inbox once, then publish every week of the range in order."""
    _run_backfill(_settings(), _parse_week(first), _parse_week(last))


def _run_backfill(settings: Settings, first: Week, last: Week) -> None:
    _quiet_prefect()

    def action() -> None:
        from flows.weekly import backfill as backfill_flow

        backfill_flow(first=first.id, last=last.id)

    _guard(settings, f"backfill {first.id}..{last.id}", action)


def _guard(settings: Settings, purpose: str, action: Callable[[], None]) -> None:
    """Hold the writer lock before Prefect starts, so a second run is refused at once, not after
    its server has started; known failures become one clear line and a non-zero exit."""
    from warehouse.lock import WarehouseBusy, writer_lock

    try:
        with writer_lock(settings.warehouse, purpose):
            action()
    except WarehouseBusy as exc:
        _fail(str(exc), 3)
    except (SettingsError, FileNotFoundError) as exc:
        _fail(str(exc), 2)
    except Exception as exc:
        if type(exc).__name__ == "QualityGateFailed":
            _fail(f"quality gates stopped the run, nothing was published: {exc}", 4)
        raise


def _parse_week(text: str) -> Week:
    try:
        return Week.parse(text)
    except ValueError as exc:
        _fail(str(exc), 2)
        raise


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Export files or folders to load.")]) -> None:
    """Load files or folders into the warehouse without running the rest, and report what each was."""
    from rich.progress import Progress

    from flows.stages import ingest as ingest_stage
    from warehouse.ingest import discover
    from warehouse.lock import WarehouseBusy

    settings = _settings()
    try:
        total = len(discover(paths))
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    try:
        with Progress(console=err, transient=True) as progress:
            bar = progress.add_task("loading", total=total)
            summary = ingest_stage(settings, paths, progress=lambda name: progress.advance(bar))
    except (WarehouseBusy, SettingsError) as exc:
        _fail(str(exc), 3)
    table = Table("file", "status", "format", "read", "loaded", "quarantined", "skipped", "duplicate", "message")
    for f in summary.files:
        table.add_row(f.name, f.status, f.format or "", *(str(x) for x in (f.rows_read, f.rows_loaded, f.rows_quarantined,
                      f.rows_skipped, f.rows_duplicate)), f.message or "")
    console.print(table)
    if summary.count("refused"):
        raise typer.Exit(1)


@app.command()
def validate(
    week: Annotated[Optional[str], typer.Option(help="ISO week the volume checks compare; default: last complete week.")] = None,
) -> None:
    """Run the quality gates alone and print each failed or warning expectation."""
    from datetime import datetime, timezone

    from expectations import run_gates

    settings = _settings()
    target = _parse_week(week) if week else Week.containing(datetime.now(timezone.utc), settings.zone).shift(-1)
    run_id = f"validate-{target.id}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    report = run_gates(settings.warehouse, target.id, run_id, settings.reports / "data_docs", zone=settings.zone)
    console.print(report.summary_markdown())
    if not report.passed:
        raise typer.Exit(4)


@app.command()
def status() -> None:
    """The file ledger, the last runs and the warehouse's size."""
    from warehouse.connection import open_reader

    settings = _settings()
    if not settings.warehouse.is_file():
        _fail(f"no warehouse at {settings.warehouse} yet: run `cityimage demo` or `cityimage run`", 2)
    with open_reader(settings.warehouse) as con:
        ledger = con.execute(
            "SELECT status, count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0) FROM ops_file_ledger GROUP BY status ORDER BY status"
        ).fetchall()
        runs = con.execute(
            "SELECT week_id, status, started_at, finished_at, coalesce(message, '') FROM ops_run ORDER BY started_at DESC LIMIT 10"
        ).fetchall()
        refused = con.execute(
            "SELECT file_name, message FROM ops_file_ledger WHERE status = 'refused' ORDER BY file_name LIMIT 20"
        ).fetchall()
    table = Table("files", "count", "rows read", "rows loaded", "rows quarantined", title="file ledger")
    for row in ledger:
        table.add_row(*(str(x) for x in row))
    console.print(table)
    for name, message in refused:
        console.print(f"[yellow]refused[/yellow] {name}: {message}")
    runs_table = Table("week", "status", "started", "finished", "message", title="last runs")
    for row in runs:
        runs_table.add_row(*(str(x) for x in row))
    console.print(runs_table)
    console.print(f"warehouse {settings.warehouse}: {settings.warehouse.stat().st_size / 1e6:.1f} MB")


@app.command()
def sql(query: Annotated[str, typer.Argument(help="A read-only SQL query against the warehouse.")]) -> None:
    """Run a read-only query against the warehouse and print the result as a table."""
    import duckdb

    from warehouse.connection import open_reader

    settings = _settings()
    try:
        with open_reader(settings.warehouse) as con:
            cursor = con.execute(query)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall()
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    except duckdb.IOException as exc:
        _fail(f"cannot open the warehouse read-only ({exc}); a run may be writing it — query the published "
              "snapshots instead", 3)
    except duckdb.Error as exc:
        _fail(f"query failed: {exc}", 1)
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    console.print(f"{len(rows)} row(s)")


@app.command()
def evaluate() -> None:
    """Precision and recall of every classifier on the project's labelled evaluation set."""
    from transforms.evaluate import evaluate as run_evaluation

    frame = run_evaluation()
    table = Table(*frame.columns)
    for row in frame.iter_rows():
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
