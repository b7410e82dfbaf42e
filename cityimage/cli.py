"""The ``cityimage`` command: the demo, weekly runs, backfills, ingestion, status and SQL.

Heavy imports (Prefect, Great Expectations) happen inside the commands that need them, so
``cityimage --help`` and ``cityimage status`` answer at once.
"""

from __future__ import annotations

import atexit
import errno
import os
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Optional, cast

import typer
from rich.console import Console
from rich.table import Table

from cityimage.output import Format, OutputError, write_result
from cityimage.settings import Settings, SettingsError, load_settings, unknown_variables
from cityimage.weeks import Week

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from warehouse.compare import RebuildDiff

app = typer.Typer(
    help="cityimage: measure how a city's image travels on overseas social media, week by week.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
# Errors are not wrapped: they are read in logs and by scripts, whatever the terminal width.
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _settings() -> Settings:
    for line in unknown_variables():
        err.print(f"[yellow]warning:[/yellow] {line}")
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
    """Write the bundled sample inbox, run the weekly flow over its weeks, and say where everything is.

    The sample's accounts are the city pack's (``CITYIMAGE_CITY_PACK``); its texts are the bundled ones.
    """
    from cityimage.sample import default_weeks, write_sample_inbox

    os.environ["CITYIMAGE_HOME"] = str(home)
    _ensure_demo_key(home)
    settings = _settings()
    weeks = default_weeks()
    first, last = weeks[0], weeks[-1]
    with console.status("writing the sample inbox"):
        truth = write_sample_inbox(settings.inbox, weeks, profile=settings.profile)
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
    rows = {
        "warehouse (DuckDB)": settings.warehouse,
        f"KPI snapshot {week.id}": partition_path(settings.snapshots, "kpi_weekly", week.id),
        "manifest": manifest_path(settings.snapshots, week.id),
        f"report {week.id}": settings.reports / f"{week.id}.html",
        "report index": settings.reports / "index.html",
    }
    for label, path in rows.items():
        table.add_row(label, str(path.resolve()))
    console.print(table)


@app.command()
def run(
    week: Annotated[Optional[str], typer.Option(help="ISO week, e.g. 2026-W47; default: last complete week.")] = None,
    no_ingest: Annotated[bool, typer.Option("--no-ingest", help="Skip loading the inbox.")] = False,
) -> None:
    """Run the weekly pipeline for one week: ingest, facts, quality gates, KPIs, publish."""
    settings = _settings()
    target = _parse_week(week) if week else None
    _check_can_run(settings)
    _supervised(settings)
    _quiet_prefect()

    def action() -> None:
        from flows.weekly import weekly_pipeline

        # The flow returns a Completed state, which Prefect unwraps to the summary it carries.
        summary = cast("dict[str, Any]", weekly_pipeline(week=target.id if target else None, ingest=not no_ingest))
        _exit_if_incomplete([summary])

    _guard(settings, f"weekly pipeline {target.id if target else '(last week)'}", action)


@app.command()
def backfill(
    first: Annotated[str, typer.Option("--from", help="First ISO week, e.g. 2026-W40.")],
    last: Annotated[str, typer.Option("--to", help="Last ISO week, e.g. 2026-W47.")],
) -> None:
    """Ingest the inbox once, then publish every week of the range in order."""
    _run_backfill(_settings(), _parse_week(first), _parse_week(last))


def _run_backfill(settings: Settings, first: Week, last: Week) -> None:
    _check_can_run(settings)
    _supervised(settings)
    _quiet_prefect()

    def action() -> None:
        from flows.weekly import backfill as backfill_flow

        _exit_if_incomplete(backfill_flow(first=first.id, last=last.id))

    _guard(settings, f"backfill {first.id}..{last.id}", action)


@app.command()
def rebuild(
    apply: Annotated[bool, typer.Option("--apply", help="Put the rebuilt warehouse in place and republish every published week.")] = False,
) -> None:
    """Re-read the whole inbox under the current profile and show what would change; --apply puts it in place.

    For a profile change (an account registered, a role changed): attribution and pseudonyms are
    decided when a file is read, so only a rebuild from the raw files re-attributes what is loaded.
    """
    from cityimage.rebuild import RebuildRefused, discard, put_in_place, side_path
    from cityimage.rebuild import rebuild as rebuild_warehouse
    from publish.snapshot import published_weeks
    from warehouse.compare import compare

    settings = _settings()
    _check_can_run(settings)
    if not settings.warehouse.is_file():
        _fail(f"no warehouse at {settings.warehouse} to rebuild: run `cityimage run` first", 2)
    weeks = published_weeks(settings.snapshots)
    target = side_path(settings)

    def action() -> None:
        discard(target)
        with console.status(f"rebuilding from {settings.inbox} into {target.name}"):
            rebuild_warehouse(settings, target, [Week.parse(w) for w in weeks])
        diff = compare(settings.warehouse, target, weeks)
        _print_rebuild_diff(diff, weeks)
        if not apply:
            console.print(f"the rebuilt warehouse is at {target}; nothing was changed. "
                          "Run `cityimage rebuild --apply` to put it in place.")
            return
        try:
            kept = put_in_place(settings, target, diff.files_missing_from_inbox)
        except RebuildRefused as exc:
            _fail(str(exc), 8)
        console.print(f"rebuilt warehouse in place; the previous one is backed up at {kept}")
        if weeks:
            _quiet_prefect()
            from flows.weekly import republish

            _exit_if_incomplete(republish(weeks=weeks))

    _guard(settings, "rebuild", action)


def _print_rebuild_diff(diff: RebuildDiff, weeks: list[str]) -> None:
    if diff.is_empty:
        console.print(f"no change: the rebuild equals the live warehouse on {len(weeks)} published week(s)")
        return
    for title, rows in (("newly registered", diff.registered_added), ("no longer registered", diff.registered_removed)):
        for platform, handle, role in rows:
            console.print(f"{title}: {platform}/{handle} ({role})")
    posts = Table("platform", "role", "posts before", "posts after", title="posts by role")
    for platform, role, before, after in diff.posts_by_role:
        if before != after:
            posts.add_row(platform, str(role), str(before), str(after))
    if posts.row_count:
        console.print(posts)
    kpis = Table("week", "KPI rows changed", "added", "removed", title="KPI rows of the published weeks")
    for week, changed, added, removed in diff.kpi_changes:
        kpis.add_row(week, str(changed), str(added), str(removed))
    if kpis.row_count:
        console.print(kpis)
    headline = Table("week", "KPI", "role", "before", "after", title="headline figures that move")
    for week, kpi, name, role, figure_before, figure_after in diff.headline_changes:
        headline.add_row(week, f"{kpi} {name}", str(role), _figure(figure_before), _figure(figure_after))
    if headline.row_count:
        console.print(headline)
    for _, name in diff.files_missing_from_inbox:
        err.print(f"[yellow]loaded before but no longer in the inbox:[/yellow] {name}")


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _exit_if_incomplete(summaries: list[dict]) -> None:
    """Exit 9 when a published week could not be copied to object storage; 7 when a week was published
    incomplete or refused for want of data (the others were published)."""
    unmirrored = [s for s in summaries if "failed" in s.get("mirror", {})]
    for summary in unmirrored:
        err.print(f"[red]{summary['week']} published, not copied to object storage:[/red] {summary['mirror']['failed']}")
    if unmirrored:
        raise typer.Exit(9)
    short = False
    for summary in summaries:
        if "refused" in summary:
            err.print(f"[yellow]{summary['week']} refused:[/yellow] {summary['refused']}")
            short = True
        elif summary["completeness"]["status"] == "incomplete":
            err.print(f"[yellow]{summary['week']} published as incomplete:[/yellow]")
            for line in summary["completeness"]["missing"]:
                err.print(f"  - {line}")
            short = True
    if short:
        raise typer.Exit(7)


def _guard(settings: Settings, purpose: str, action: Callable[[], None]) -> None:
    """Hold the writer lock before Prefect starts, so a second run is refused at once, not after
    its server has started; known failures become one clear line and a non-zero exit (``_known_failure``)."""
    from warehouse.lock import writer_lock

    try:
        with writer_lock(settings.warehouse, purpose):
            action()
    except Exception as exc:
        failure = _known_failure(exc)
        if failure is None:
            raise
        _fail(*failure)


def _known_failure(exc: BaseException) -> tuple[str, int] | None:
    """The one table from a failure to its message and exit code (documented in the README), for every
    command: whatever escapes a command is looked up here, and anything unknown keeps its traceback."""
    from cityimage.profile import ProfileError
    from warehouse.lock import WarehouseBusy

    if _disk_full(exc):
        return _DISK_FULL.format(exc=exc), 5
    if isinstance(exc, WarehouseBusy):
        return str(exc), 3
    if isinstance(exc, (SettingsError, ProfileError, FileNotFoundError)):
        return str(exc), 2
    if type(exc).__name__ == "QualityGateFailed":
        return f"quality gates stopped the run, nothing was published: {exc}", 4
    if type(exc).__name__ == "EmptyWeek":
        return str(exc), 6
    return None


def _disk_full(exc: BaseException | None) -> bool:
    """A full disk, as the OS reports it (ENOSPC) or as DuckDB words it, anywhere in the causes."""
    import duckdb

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if isinstance(exc, duckdb.Error) and "No space left on device" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


_DISK_FULL = (
    "the disk is full ({exc}). Nothing half-written was kept: each batch of files loads in one transaction and "
    "snapshot files are renamed into place only when complete. Free some space and run the same command again."
)


def _check_can_run(settings: Settings) -> None:
    """A run refuses to start without the pseudonymisation key or with a broken city profile, before
    Prefect starts: one line naming the problem, not a failed flow's traceback."""
    from cityimage.profile import ProfileError

    try:
        settings.require_author_key()
        settings.profile  # read now: a broken profile stops here, before Prefect starts
    except (SettingsError, ProfileError) as exc:
        _fail(str(exc), 2)


def _supervised(settings: Settings) -> None:
    """Started as the program, run this same command as a supervised child (``cityimage.supervise``)
    and exit with its code: a signal then ends the run within seconds, whatever it is doing."""
    from cityimage import supervise

    if not _AS_PROGRAM or supervise.is_child():
        return

    started = datetime.now(timezone.utc)

    def interrupted(why: str) -> None:
        from flows.runs import close_interrupted

        close_interrupted(settings, why, since=started)
        err.print(f"[red]interrupted:[/red] {why}")

    raise typer.Exit(supervise.run_supervised(sys.argv[1:], interrupted))


#: True when the process is the ``cityimage`` program (``main``), not a test calling the app in-process.
_AS_PROGRAM = False


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
        total = len(discover(paths, settings.follow_inbox_links))
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


@app.command("build-facts")
def build_facts(
    full: Annotated[bool, typer.Option("--full", help="Rebuild every key, not only what new loads touched.")] = False,
) -> None:
    """Bring the fact and dimension tables up to date with staging, alone (the weekly run does it too).

    Incremental by default: only what the loads not yet built touched. ``--full`` rebuilds every post,
    comment and account from staging; texts already classified keep their outcomes.
    """
    from flows.stages import build_facts as build_stage
    from warehouse.lock import WarehouseBusy

    settings = _settings()
    if not settings.warehouse.is_file():
        _fail(f"no warehouse at {settings.warehouse} yet: run `cityimage ingest` or `cityimage run` first", 2)
    try:
        result = build_stage(settings, full=full)
    except WarehouseBusy as exc:
        _fail(str(exc), 3)
    console.print(result.line())


@app.command("accept-profile")
def accept_profile() -> None:
    """Record the city profile's accounts as the ones the warehouse holds.

    The stages refuse a profile that changes an account's role, city or id, or drops an account, since
    it would re-label every week of history; after this command the next fact build applies it to all.
    """
    from warehouse.city import accept_profile as accept
    from warehouse.connection import open_writer

    settings = _settings()
    if not settings.warehouse.is_file():
        _fail(f"no warehouse at {settings.warehouse} yet: the first run records the profile by itself", 2)
    with open_writer(settings.warehouse, "accept profile", settings.reader_wait_s) as con:
        changes = accept(con, settings.profile)
    for change in changes:
        console.print(f"  {change}")
    console.print(f"recorded {len(changes)} change(s); the next fact build rebuilds every fact under the profile"
                  if changes else "the profile's accounts are the ones the warehouse holds: nothing to record")


@app.command()
def validate(
    week: Annotated[Optional[str], typer.Option(help="ISO week the volume checks compare; default: last complete week.")] = None,
    judge_all: Annotated[bool, typer.Option(
        "--judge-all", help="Evaluate every check again, also those whose tables and definition are unchanged "
                            "since their verdict (kept otherwise).")] = False,
) -> None:
    """Run the quality gates alone and print each failed or warning expectation."""
    from datetime import datetime, timezone

    from expectations import run_gates

    settings = _settings()
    target = _parse_week(week) if week else Week.containing(datetime.now(timezone.utc), settings.zone).shift(-1)
    run_id = f"validate-{target.id}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    report = run_gates(settings.warehouse, target.id, run_id, settings.reports / "data_docs", zone=settings.zone,
                       reader_wait_s=settings.reader_wait_s, memory_limit=settings.duckdb_memory_limit,
                       keep=not judge_all)
    console.print(report.summary_markdown())
    if not report.passed:
        raise typer.Exit(4)


@app.command()
def status() -> None:
    """The file ledger, the last runs and the warehouse's size.

    While a run writes the warehouse, DuckDB refuses even a reader: the figures then come from the
    newest backup (the one the run took before it first wrote data, or, for a run that writes none, an
    earlier run's), and the first line says who is writing and which backup the figures are from.
    """
    import duckdb

    from warehouse.backup import list_backups
    from warehouse.connection import open_reader
    from warehouse.lock import holder

    settings = _settings()
    if not settings.warehouse.is_file():
        _fail(f"no warehouse at {settings.warehouse} yet: run `cityimage demo` or `cityimage run`", 2)
    try:
        with open_reader(settings.warehouse) as con:
            rows = _status_rows(con, settings)
    except duckdb.IOException:
        busy = f"the warehouse is being written by {holder(settings.warehouse)}"
        backups = list_backups(settings.backups)
        if not backups:
            console.print(f"[yellow]{busy}[/yellow]; no backup to read from yet: ask again when it is done.")
            return
        console.print(f"[yellow]{busy}[/yellow]; these figures are from the newest backup, {backups[-1].name}, "
                      "taken before the last run that changed the data.")
        with open_reader(backups[-1]) as con:
            rows = _status_rows(con, settings)
    _print_status(settings, *rows)


def _status_rows(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[list, list, list, list, list[str]]:
    """The ledger by status, the last ten runs, the first refused files, the last fact build, and the
    profile against the city and accounts the warehouse holds."""
    from warehouse.city import standing

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
    facts = con.execute(
        "SELECT finished_at, mode, loads, posts, comments, reason FROM ops_fact_build ORDER BY finished_at DESC LIMIT 1"
    ).fetchall()
    return ledger, runs, refused, facts, standing(con, settings.profile)


def _print_status(settings: Settings, ledger: list, runs: list, refused: list, facts: list, city: list[str]) -> None:
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
    if facts:
        finished, mode, loads, posts, comments, reason = facts[0]
        console.print(f"facts: last built {finished} ({mode}, {reason}: {loads} load(s), {posts} posts and "
                      f"{comments} comments rebuilt)")
    else:
        console.print("facts: never built")
    for line in city:
        console.print(line if line.startswith("city:") else f"[yellow]{line}[/yellow]")
    console.print(f"warehouse {settings.warehouse}: {settings.warehouse.stat().st_size / 1e6:.1f} MB")


FormatOption = Annotated[Format, typer.Option("--format", help="table (for people), csv, json, or parquet (needs --output).")]
OutputOption = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result to this file instead of stdout.")]


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A read-only SQL query against the warehouse.")],
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
) -> None:
    """Run a read-only query against the warehouse and print the result (a table, CSV, JSON or Parquet).

    Only reading statements run, and the session can open no file but the warehouse (warehouse.readonly).
    """
    import duckdb

    from warehouse.readonly import NotAllowed, check_statements, interruptible, open_query_reader

    settings = _settings()
    try:
        with open_query_reader(settings.warehouse) as con:
            check_statements(con, query)
            result = interruptible(con, lambda: _arrow(con.sql(query)))
    except KeyboardInterrupt:
        _fail("query cancelled", 130)
    except NotAllowed as exc:
        _fail(str(exc), 2)
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    except duckdb.IOException as exc:
        _fail(f"cannot open the warehouse read-only ({exc}); a run may be writing it — query the published "
              "snapshots instead", 3)
    except duckdb.Error as exc:
        _fail(f"query failed: {exc}", 1)
    if result is not None:
        _write(result, fmt, output)


def _arrow(relation: duckdb.DuckDBPyRelation | None) -> pa.Table | None:
    """A query's rows as Arrow; None for a statement that returns nothing."""
    return relation.to_arrow_table() if relation is not None else None


def _write(result: pa.Table, fmt: Format, output: Path | None) -> None:
    try:
        write_result(result, fmt, output, console)
    except (OutputError, OSError) as exc:
        _fail(str(exc), 2)


@app.command()
def evaluate(
    split: Annotated[str, typer.Option(help="Own smoke set: holdout (never used for tuning), dev, or all.")] = "holdout",
) -> None:
    """Classifier quality: public labelled sets (out-of-fold, 95 % intervals), then the own smoke set."""
    from transforms.classify import load_lexicons
    from transforms.evaluate import city_evaluation, public_figures
    from transforms.evaluate import evaluate as run_evaluation

    if split not in ("holdout", "dev", "all"):
        _fail(f"--split must be holdout, dev or all, not {split!r}", 2)
    settings = _settings()
    evaluation = city_evaluation(settings.pack, settings.profile)
    public = public_figures()
    if public.height:
        console.print("[bold]Public labelled sets[/bold] (measured by `cityimage train`; value [95 % interval])")
        _print_frame(public)
    else:
        console.print("No trained models: run `cityimage train` (public figures unavailable).")
    console.print(f"[bold]Own labelled rows[/bold] (split {split}; written by this project: a smoke test, "
                  "not a quality claim)")
    if evaluation.posts is None:
        console.print(f"The city pack ({settings.pack.folder}) has no labelled posts: its post classifiers are "
                      "not measured.")
    _print_frame(run_evaluation(load_lexicons(settings.lexicon_dir), split=None if split == "all" else split,
                                evaluation=evaluation))


def _print_frame(frame) -> None:
    table = Table(*frame.columns)
    for row in frame.iter_rows():
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


@app.command()
def train(
    labelled: Annotated[Path, typer.Option(help="The public labelled sets (read in place, never copied).")] = Path(
        "../shared/labelled"),
) -> None:
    """Retrain the spam and sentiment models from the labelled sets; rewrites transforms/models/."""
    from cityimage.training import LabelledDataError, train_all
    from transforms.classify import load_lexicons

    try:
        evaluation = train_all(labelled.resolve(), load_lexicons(),
                               progress=lambda step: err.print(f"training: {step}"))
    except LabelledDataError as exc:
        _fail(str(exc), 2)
    spam = evaluation["spam"]["overall"]
    console.print(f"spam (leave one video out): precision {spam['precision'][0]:.3f} recall "
                  f"{spam['recall'][0]:.3f} F1 {spam['f1'][0]:.3f}")
    for language, figures in evaluation["sentiment"].items():
        f1 = figures["cross_validated"]["macro_f1"]
        state = "shipped" if figures["shipped"] else "not shipped: not rated"
        console.print(f"sentiment {language}: macro-F1 {f1[0]:.3f} [{f1[1]:.3f}, {f1[2]:.3f}] ({state})")


@app.command()
def classify(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL file of texts.")],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")],
    language_column: Annotated[Optional[str], typer.Option(help="Column of platform language tags, if any.")] = None,
    format: Annotated[str, typer.Option(help="Input format: csv or jsonl (default: by extension).")] = "",
    output: Annotated[Optional[Path], typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Classify texts from a file: one output row per text, with language, acts, sentiment and the trace."""
    from cityimage.textfile import TextFileError, classify_file

    try:
        classify_file(file, text_column, language_column, format or None, output)
    except TextFileError as exc:
        _fail(str(exc), 2)


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(metavar="BACKUP", help="A backup file from the backups folder.")],
) -> None:
    """Replace the warehouse with a backup (taken by each flow run before it first changes the data); the current one is kept aside."""
    from warehouse.backup import BackupError, list_backups, restore as restore_backup
    from warehouse.lock import WarehouseBusy

    settings = _settings()
    if not backup_file.is_file():
        known = ", ".join(p.name for p in list_backups(settings.backups)[-5:]) or "none"
        _fail(f"no backup at {backup_file} (latest in {settings.backups}: {known})", 2)
    try:
        kept = restore_backup(backup_file, settings.warehouse)
    except WarehouseBusy as exc:
        _fail(str(exc), 3)
    except BackupError as exc:
        _fail(f"{exc}; the warehouse was not touched", 1)
    console.print(f"restored {settings.warehouse} from {backup_file}")
    if kept:
        console.print(f"the previous warehouse is kept as {kept}")
    console.print("re-publish the affected weeks with `cityimage run --week W --no-ingest`, then `cityimage run` "
                  "to load any export that arrived after the backup")


@app.command()
def analyst(
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="Run one query and exit.")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Run the statements of a .sql file and exit.")] = None,
    print_sql: Annotated[bool, typer.Option("--print-sql", help="Print the view definitions for any DuckDB client.")] = False,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
) -> None:
    """Query the published snapshots in an in-memory DuckDB session; never locks the warehouse."""
    from cityimage.analyst import analyst_views, open_session, split_statements

    settings = _settings()
    if print_sql:
        for statement in analyst_views(settings.snapshots.resolve()):
            typer.echo(statement + ";")
        return
    if file is not None and not file.is_file():
        _fail(f"no SQL file at {file}", 2)
    con, missing = open_session(settings.snapshots.resolve())
    if missing:
        err.print(f"[yellow]not published yet under {settings.snapshots}:[/yellow] {', '.join(missing)}")
    statements = [query] if query else split_statements(file.read_text(encoding="utf-8")) if file else None
    try:
        if statements is not None:
            if fmt is not Format.table and len(statements) != 1:
                _fail(f"--format {fmt.value} writes one result: give one statement, not {len(statements)}", 2)
            failed = [s for s in statements if not _analyst_print(con, s, settings.snapshots.resolve(), fmt, output)]
            raise typer.Exit(1 if failed else 0)
        _analyst_repl(con, settings.snapshots.resolve())
    finally:
        con.close()


def _analyst_print(con: duckdb.DuckDBPyConnection, statement: str, root: Path,
                   fmt: Format = Format.table, output: Path | None = None) -> bool:
    """Run one statement and print its rows; a SQL error is one line, and False."""
    import duckdb

    from cityimage.analyst import run_query

    from warehouse.readonly import NotAllowed

    try:
        result = run_query(con, statement, root)
    except duckdb.InterruptException:  # Ctrl-C at the prompt, which says "query cancelled" itself
        return False
    except (duckdb.Error, NotAllowed) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return False
    if result is not None:
        _write(result, fmt, output)
    return True


def _analyst_repl(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    from cityimage.prompt import repl

    repl(con, lambda statement: _analyst_print(con, statement, root), console.print)


@app.command()
def deploy(
    work_pool: Annotated[Optional[str], typer.Option(help="Process work pool; default: setting prefect_work_pool.")] = None,
) -> None:
    """Register the weekly and backfill deployments with the Prefect API at PREFECT_API_URL."""
    from flows.deploy import NoPrefectServer, api_url, ensure_work_pool, register

    settings = _settings()
    pool = work_pool or settings.prefect_work_pool
    _quiet_prefect()
    try:
        url = api_url()
    except NoPrefectServer as exc:
        _fail(str(exc), 2)
    console.print(f"Prefect API: {url}")
    try:
        created = ensure_work_pool(pool)
        ids = register(settings, pool)
    except Exception as exc:  # an unreachable API is the usual cause: one line, not a traceback
        _fail(f"could not register the deployments ({type(exc).__name__}: {exc}); is the Prefect server up?", 1)
    if created:
        console.print(f"created process work pool [bold]{pool}[/bold]")
    for name, deployment_id in ids.items():
        console.print(f"registered [bold]{name}[/bold] ({deployment_id}) on pool {pool}")
    from flows.deploy import city_key

    console.print(f"start a worker where this city's data folders are: prefect worker start --pool {pool} "
                  f"--work-queue {city_key(settings)}")


@app.command()
def serve() -> None:
    """Serve the weekly (scheduled) and backfill deployments from this process until stopped."""
    from flows.deploy import serve as serve_deployments

    settings = _settings()
    _quiet_prefect()
    serve_deployments(settings)


@app.command()
def network(
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2026-W47.")],
    snapshots: Annotated[list[Path], typer.Option("--snapshots", help="A city's snapshot folder; repeat per city.")],
    out: Annotated[Path, typer.Option(help="Folder of the network's table, manifest and page.")],
) -> None:
    """Compare the cities' published weeks: each city's KPIs beside the network's median (read only)."""
    from publish.network import publish_network

    summary = publish_network(_parse_week(week), snapshots, out)
    console.print(f"network {week}: {len(summary['cities'])} cities ({', '.join(summary['cities'])}), "
                  f"{summary['rows']} rows, in {out}")
    if summary["absent"]:
        err.print("[yellow]not published for this week:[/yellow] " + ", ".join(summary["absent"]))


def main() -> None:
    """The console script: run the command, run the exit handlers, then end the process at once.

    Python's teardown after a command that used Great Expectations leaves a few DuckDB objects alive
    (references held by module state that CPython never frees at exit), and DuckDB's bindings
    (nanobind) then print a "leaked 27 instances" report that is alarming and meaningless: the process
    is ending and every connection is closed by then. Ending with ``os._exit`` after the ``atexit``
    handlers (logging flush, Prefect's temporary server, temp files) skips only that teardown.
    """
    global _AS_PROGRAM
    _AS_PROGRAM = True
    _end(exit_code())


def exit_code(args: list[str] | None = None) -> int:
    """Run one command (default: the process's arguments) and return its exit code, every known
    failure mapped by ``_known_failure``; an unknown failure keeps its traceback."""
    try:
        app(args=args, prog_name="cityimage")
        return 0
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except Exception as exc:
        failure = _known_failure(exc)
        if failure is None:
            raise
        message, code = failure
        err.print(f"[red]error:[/red] {message}", highlight=False)
        return code


def _end(code: int) -> None:
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`cityimage sql … | head`) is not an error of ours
            pass
    os._exit(code)
