"""The benchmark's measured units, each run in a fresh child process: ``python -m benchmarks.measure TASK JSON``.

A child imports what its task needs (timed as ``import_seconds``), notes its RSS, runs the task
(timed as ``seconds``) and prints one JSON line: the figures, ``peak_rss_mb`` (the child's own
``ru_maxrss``, imports included, or where the ingest started reader processes the largest sum of
their RSS and the child's, sampled: ``ReadersPeak``) and ``rss_growth_mb`` (peak over the RSS after imports). The parent
(``benchmarks.run``) never imports DuckDB, Polars or Great Expectations itself.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
AUTHOR_KEY = "benchmark-author-key-0123456789"
TASKS: dict[str, Callable[[dict], dict]] = {}


def task(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
    TASKS[fn.__name__] = fn
    return fn


def run_child(name: str, args: dict, env: dict | None = None, timeout: int = 7200) -> dict:
    """Run one task in a fresh interpreter and return its figures (raises with the child's stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="bench-args-", delete=False) as handle:
        json.dump(args, handle)  # file lists can be longer than a command line
    started = time.perf_counter()
    try:
        result = run_module("benchmarks.measure", [name, "@" + handle.name], timeout, env)
    finally:
        os.unlink(handle.name)
    result["process_seconds"] = round(time.perf_counter() - started, 3)
    return result


def run_module(module: str, argv: list[str], timeout: int, env: dict | None = None) -> dict:
    """``python -m module argv`` in a fresh interpreter; its last stdout line, parsed as JSON.

    Each benchmark unit runs alone so its peak RSS is its own and its imports are paid and shown.
    """
    full_env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", **(env or {})}
    out = subprocess.run([sys.executable, "-m", module, *argv], cwd=ROOT, env=full_env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child {module} {' '.join(argv[:2])} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def scratch_warehouse(workdir: Path | None, name: str) -> Iterator[Path]:
    """The path of a fresh warehouse file ``name`` in ``workdir`` (kept), or in a temporary folder (removed)."""
    folder = Path(tempfile.mkdtemp(prefix="cityimage-bench-")) if workdir is None else workdir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    try:
        yield path
    finally:
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return max(own, ReadersPeak.started().mb)


class ReadersPeak:
    """The largest RSS of this process plus the processes its ingest's reader pool started (the readers
    of ``warehouse.reading`` and multiprocessing's resource tracker), sampled every 50 ms: ``ru_maxrss``
    sees one process, and a stage's memory is all of them. Other children (a Prefect server) are not
    the stage's and are left out, as before."""

    _running: "ReadersPeak | None" = None

    def __init__(self) -> None:
        import psutil

        self.mb = 0.0
        self._me = psutil.Process()
        self._readers: dict[int, bool] = {}
        threading.Thread(target=self._sample, name="readers-peak", daemon=True).start()

    @classmethod
    def started(cls) -> "ReadersPeak":
        if cls._running is None:
            cls._running = cls()
        return cls._running

    def _sample(self) -> None:
        import psutil

        while True:
            total = self._me.memory_info().rss
            for child in self._me.children(recursive=True):
                try:
                    if self._is_reader(child):
                        total += child.memory_info().rss
                except psutil.Error:  # ended between the listing and the reading
                    continue
            self.mb = max(self.mb, total / 2**20)
            time.sleep(0.05)

    def _is_reader(self, child: Any) -> bool:
        if child.pid not in self._readers:
            self._readers[child.pid] = "multiprocessing" in " ".join(child.cmdline())
        return self._readers[child.pid]


def _settings(home: str, inbox: str | None = None):
    from cityimage.settings import Settings

    extra = {"inbox_path": Path(inbox)} if inbox else {}
    return Settings(home=Path(home), author_key=AUTHOR_KEY, **extra)


class Clock:
    """Wall-clock around the measured part, after the imports and an RSS baseline; per named part, its
    seconds and the process's peak RSS when it ended (the part where that figure first reaches the
    run's peak is where the peak was reached)."""

    def __init__(self) -> None:
        self.process_start = time.perf_counter()
        self.baseline = 0.0
        self.start = 0.0
        self.parts: dict[str, float] = {}
        self.peaks: dict[str, float] = {}

    def begin(self) -> None:
        self.import_seconds = time.perf_counter() - self.process_start
        self.baseline = rss_mb()
        ReadersPeak.started()
        self.start = time.perf_counter()

    def part(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.parts[name] = round(self.parts.get(name, 0.0) + now - since, 3)
        self.peaks[name] = round(peak_mb(), 1)
        return now

    def done(self, **figures: Any) -> dict:
        seconds = time.perf_counter() - self.start
        peak = peak_mb()
        return {"seconds": round(seconds, 3), "import_seconds": round(self.import_seconds, 3),
                "rss_before_mb": round(self.baseline, 1), "peak_rss_mb": round(peak, 1),
                "rss_growth_mb": round(max(peak - self.baseline, 0.0), 1), "parts": self.parts,
                "peak_after_mb": self.peaks, **figures}


# -- ingest and its floor -------------------------------------------------------------------------


@task
def ingest(args: dict) -> dict:
    """``stages.ingest`` over ``paths`` into the warehouse under ``home`` (fresh unless it exists)."""
    clock = Clock()
    from flows import stages

    clock.begin()
    summary = stages.ingest(_settings(args["home"]), [Path(p) for p in args["paths"]])
    loaded = [f for f in summary.files if f.status == "loaded"]
    return clock.done(files=len(summary.files), files_loaded=len(loaded), refused=summary.count("refused"),
                      rows_loaded=summary.rows_loaded, rows_read=sum(f.rows_read for f in loaded),
                      rows_duplicate=sum(f.rows_duplicate for f in loaded), rows_skipped=sum(f.rows_skipped for f in loaded),
                      rows_quarantined=sum(f.rows_quarantined for f in loaded))


FB_COMMENT = ("STRUCT(id VARCHAR, created_time VARCHAR, \"from\" STRUCT(name VARCHAR, id VARCHAR), message VARCHAR, "
              "like_count BIGINT, comment_count BIGINT, is_hidden BOOLEAN, permalink_url VARCHAR, parent STRUCT(id VARCHAR))")
IG_COMMENT = ("STRUCT(\"timestamp\" VARCHAR, text VARCHAR, id VARCHAR, username VARCHAR, "
              "\"from\" STRUCT(id VARCHAR, username VARCHAR), like_count BIGINT, hidden BOOLEAN)")


def floor_queries(fb_files: list[str], ig_files: list[str]) -> list[tuple[str, list]]:
    """DuckDB alone: the Graph API comment pages (Facebook, Instagram) read with an explicit schema,
    unnested (comments and their replies), typed, and written to one table with its source file."""
    fb_cols = {"data": f"{FB_COMMENT[:-1]}, comments STRUCT(data {FB_COMMENT}[]))[]"}
    ig_cols = {"data": f"{IG_COMMENT[:-1]}, replies STRUCT(data {IG_COMMENT}[]))[]"}
    qs: list[tuple[str, list]] = [(
        "CREATE TABLE stg_comment_floor (platform VARCHAR, comment_id VARCHAR, parent_comment_id VARCHAR, author_id VARCHAR, "
        "author_name VARCHAR, text VARCHAR, created_at TIMESTAMPTZ, like_count BIGINT, reply_count BIGINT, is_hidden BOOLEAN, "
        "source_file VARCHAR)", [])]
    if fb_files:
        qs.append((f"""
            INSERT INTO stg_comment_floor
            WITH pages AS (SELECT filename, unnest(data) AS c FROM read_json($1, columns = {{'data': '{fb_cols["data"]}'}}, filename = true,
                                                                             format = 'auto')),
            allc AS (SELECT filename, c.id, NULL AS parent, c."from", c.message, c.created_time, c.like_count, c.comment_count,
                            c.is_hidden FROM pages
                     UNION ALL
                     SELECT filename, r.id, c.id, r."from", r.message, r.created_time, r.like_count, r.comment_count, r.is_hidden
                     FROM (SELECT filename, c, unnest(c.comments.data) AS r FROM pages))
            SELECT 'facebook', id, parent, "from".id, "from".name, message, strptime(created_time, '%Y-%m-%dT%H:%M:%S%z'),
                   like_count, comment_count, is_hidden, filename FROM allc""", [fb_files]))
    if ig_files:
        qs.append((f"""
            INSERT INTO stg_comment_floor
            WITH pages AS (SELECT filename, unnest(data) AS c FROM read_json($1, columns = {{'data': '{ig_cols["data"]}'}}, filename = true,
                                                                             format = 'auto')),
            allc AS (SELECT filename, c.id, NULL AS parent, c."from", c.username, c.text, c."timestamp", c.like_count, c.hidden
                     FROM pages
                     UNION ALL
                     SELECT filename, r.id, c.id, r."from", r.username, r.text, r."timestamp", r.like_count, r.hidden
                     FROM (SELECT filename, c, unnest(c.replies.data) AS r FROM pages))
            SELECT 'instagram', id, parent, "from".id, username, text, strptime("timestamp", '%Y-%m-%dT%H:%M:%S%z'),
                   like_count, NULL, hidden, filename FROM allc""", [ig_files]))
    return qs


@task
def floor_ingest(args: dict) -> dict:
    clock = Clock()
    import duckdb

    clock.begin()
    con = duckdb.connect(args["db"])
    con.execute("SET preserve_insertion_order = false")
    for query, params in floor_queries(args["fb_files"], args["ig_files"]):
        con.execute(query, params)
    con.execute("CHECKPOINT")
    rows = con.execute("SELECT count(*) FROM stg_comment_floor").fetchall()[0][0]
    con.close()
    return clock.done(rows_loaded=rows, files=len(args["fb_files"]) + len(args["ig_files"]))


# -- validation, facts, KPIs ------------------------------------------------------------------------


@task
def gates(args: dict) -> dict:
    clock = Clock()
    from expectations import gx_engine  # noqa: F401
    from expectations.runner import run_gates

    clock.begin()
    # Every check judged, as when every table changed: the warehouse holds the week-52 run's verdicts.
    report = run_gates(Path(args["warehouse"]), args["week"], "benchmark", None, zone=args["zone"],
                       memory_limit=args.get("memory_limit"), keep=False)
    return clock.done(passed=report.passed, expectations=len(report.results), critical=len(report.critical),
                      warnings=len(report.warnings))


@task
def facts(args: dict) -> dict:
    """``stages.build_facts`` over every key (``full``) or what new loads touched, with the time spent in
    the two classifiers measured from inside."""
    clock = Clock()
    import transforms.facts as tf
    from flows import stages

    spent = {"classify_posts": 0.0, "classify_comments": 0.0}

    def timed(fn, key):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - t
        return wrapper

    tf.classify_posts = timed(tf.classify_posts, "classify_posts")
    tf.classify_comments = timed(tf.classify_comments, "classify_comments")
    clock.begin()
    result = stages.build_facts(_settings(args["home"]), full=bool(args.get("full")))
    clock.parts.update({k: round(v, 3) for k, v in spent.items()})
    return clock.done(tables=result.figures)


FACTS_FLOOR = [
    # latest export wins per post (metrics as of the newest export), and the history of snapshots
    """CREATE TABLE floor_post AS SELECT * FROM stg_post
       QUALIFY row_number() OVER (PARTITION BY platform, post_id ORDER BY exported_at DESC, source_row) = 1""",
    """CREATE TABLE floor_post_snapshot AS SELECT DISTINCT ON (platform, post_id, exported_at) * FROM stg_post
       ORDER BY platform, post_id, exported_at""",
    # latest copy of each comment, then reply linking: the parent's author and the reply delay
    """CREATE TABLE floor_comment AS
       WITH latest AS (SELECT * FROM stg_comment
                       QUALIFY row_number() OVER (PARTITION BY platform, comment_id ORDER BY exported_at DESC, source_row) = 1)
       SELECT c.*, p.author_id AS parent_author_id, c.created_at - p.created_at AS reply_delay,
              (SELECT count(*) FROM latest r WHERE r.platform = c.platform AND r.parent_comment_id = c.comment_id) AS replies
       FROM latest c LEFT JOIN latest p ON p.platform = c.platform AND p.comment_id = c.parent_comment_id""",
]


@task
def facts_floor(args: dict) -> dict:
    """The floor's SQL; with ``memory_mb``, under DuckDB memory limits from that size up (×1.5 after each
    out-of-memory failure) until it completes, so it can be compared with the build under its budget.
    The time is the completed attempt's; the failed budgets are listed."""
    clock = Clock()
    import duckdb

    budget, failed = args.get("memory_mb"), []
    clock.begin()
    while True:
        con = duckdb.connect(args["warehouse"])
        con.execute("SET preserve_insertion_order = false")
        if budget:
            con.execute(f"SET memory_limit = '{int(budget)}MB'")
        started = time.perf_counter()
        try:
            con.execute("BEGIN TRANSACTION")
            for query in FACTS_FLOOR:
                con.execute(query)
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                      for t in ("floor_post", "floor_post_snapshot", "floor_comment")}
        except duckdb.OutOfMemoryException:
            con.close()
            failed.append(int(budget))
            budget *= 1.5
            continue
        con.execute("ROLLBACK")  # leave the warehouse as it was
        con.close()
        result = clock.done(tables=counts, memory_limit_mb=int(budget) if budget else None, failed_budgets_mb=failed)
        result["seconds"] = round(time.perf_counter() - started, 3)
        return result


@task
def kpis_publish(args: dict) -> dict:
    clock = Clock()
    from cityimage.weeks import Week
    from flows import stages

    settings = _settings(args["home"])
    week = Week.parse(args["week"])
    clock.begin()
    t = time.perf_counter()
    kpis = stages.compute_kpis(settings, week, force=True)
    t = clock.part("compute_kpis", t)
    stages.publish(settings, week)
    clock.part("publish", t)
    return clock.done(kpis=kpis.figures)


# -- the weekly run, direct and through Prefect ----------------------------------------------------


@task
def weekly_direct(args: dict) -> dict:
    """The flow's stages called as plain functions, in the flow's order, for one week: ingest, gates,
    facts, completeness, KPIs, publication, with the backup the flow takes before its first write to
    the data (inside the first stage that writes; none when nothing is new)."""
    clock = Clock()
    from expectations import gx_engine  # noqa: F401
    from expectations.runner import run_gates
    from cityimage.weeks import Week
    from flows import stages

    settings = _settings(args["home"], args.get("inbox"))
    week = Week.parse(args["week"])
    run_id = f"{week.id}-bench"
    backup_key = run_id if settings.warehouse.is_file() else None  # as the flow decides it
    clock.begin()
    t = time.perf_counter()
    summary = stages.ingest(settings, [Path(p) for p in args["paths"]] if args.get("paths") else None,
                            backup_key=backup_key)
    t = clock.part("ingest", t)
    docs = settings.reports / "data_docs"
    bound = settings.duckdb_memory_limit  # as the flow's gate task holds them
    report = run_gates(settings.warehouse, week.id, run_id, docs, layers=("staging", "operations"), zone=settings.zone,
                       part="table", memory_limit=bound)
    t = clock.part("validate staging", t)
    facts_result = stages.build_facts(settings, backup_key=backup_key)
    t = clock.part("facts", t)
    report2 = run_gates(settings.warehouse, week.id, run_id, docs, layers=("facts",), zone=settings.zone, part="table",
                        memory_limit=bound)
    t = clock.part("validate facts", t)
    run_gates(settings.warehouse, week.id, run_id, docs, layers=("staging", "facts"), zone=settings.zone, part="week",
              memory_limit=bound)
    t = clock.part("validate week", t)
    stages.check_completeness(settings, week)
    t = clock.part("completeness", t)
    stages.compute_kpis(settings, week, backup_key=backup_key)
    t = clock.part("kpis", t)
    stages.publish(settings, week)
    clock.part("publish", t)
    return clock.done(rows_loaded=summary.rows_loaded, files_loaded=summary.count("loaded"),
                      passed=report.passed and report2.passed, facts=facts_result.figures)


def _flow_under_harness(args: dict, run: Callable[[], Any], **figures: Callable[[Any], Any]) -> dict:
    """``run()`` (a flow) under ``prefect_test_harness`` with the run's home and inbox; the server's
    start-up is timed apart and excluded. ``figures``: name -> what to report of the flow's result."""
    os.environ.update({"CITYIMAGE_HOME": args["home"], "CITYIMAGE_INBOX_PATH": args["inbox"],
                       "CITYIMAGE_AUTHOR_KEY": AUTHOR_KEY})
    clock = Clock()
    from prefect.testing.utilities import prefect_test_harness
    from expectations import gx_engine  # noqa: F401
    import flows.stages  # noqa: F401
    import flows.weekly  # noqa: F401

    clock.begin()
    harness_started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=180):
        startup = time.perf_counter() - harness_started
        clock.start = time.perf_counter()
        outcome = run()
        seconds = time.perf_counter() - clock.start
        result = clock.done(server_startup_seconds=round(startup, 3), **{k: f(outcome) for k, f in figures.items()})
    result["seconds"] = round(seconds, 3)
    return result


@task
def weekly_prefect(args: dict) -> dict:
    """``weekly_pipeline`` for one week under ``prefect_test_harness``."""
    from flows.weekly import weekly_pipeline

    return _flow_under_harness(args, lambda: weekly_pipeline(week=args["week"]),
                               flow_rows=lambda summary: summary.get("ingest", {}).get("rows"))


@task
def backfill(args: dict) -> dict:
    """The year through Prefect's ``backfill`` flow on an empty warehouse, under ``prefect_test_harness``.
    Peak memory is this process's: the flow runs in it."""
    from flows.weekly import backfill as backfill_flow

    return _flow_under_harness(args, lambda: backfill_flow(first=args["first"], last=args["last"]),
                               weeks=len, refused=lambda results: sum("refused" in r for r in results))


# -- the naive reference ---------------------------------------------------------------------------


@task
def naive(args: dict) -> dict:
    """pandas + row-wise Python + Great Expectations on pandas, over the Graph API comment pages given."""
    clock = Clock()
    import pandas as pd
    import great_expectations as gx
    from transforms.classify import load_lexicons

    lex = load_lexicons()
    entries = [(r["family"], r["cls"], r["pattern"]) for r in lex.comment_entries.iter_rows(named=True)]
    clock.begin()
    t = time.perf_counter()
    frames = []
    for path in args["files"]:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        try:
            pages = [json.loads(text)]
        except json.JSONDecodeError:  # one page per line
            pages = [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = []
        for c in (c for page in pages for c in page.get("data", [])):
            rows.append(c)
            rows.extend((c.get("comments") or c.get("replies") or {}).get("data", []))
        frame = pd.json_normalize(rows)
        frame["source_file"] = path
        frames.append(frame)
    if not frames:
        return clock.done(rows=0, files=0, expectations=0, passed=True)
    df = pd.concat(frames, ignore_index=True)
    df["text"] = df["message"].fillna(df.get("text")) if "message" in df else df["text"]
    created = df["created_time"].fillna(df.get("timestamp")) if "created_time" in df else df["timestamp"]
    df["created_at"] = pd.to_datetime(created, utc=True, format="%Y-%m-%dT%H:%M:%S%z")
    t = clock.part("read (pandas)", t)

    def classify(text: str) -> str:
        norm = " " + " ".join(str(text).lower().split()) + " "
        hits = {(family, cls) for family, cls, pattern in entries if pattern in norm}
        return ",".join(sorted(f"{f}:{c}" for f, c in hits))

    df["classes"] = [classify(x) for x in df["text"]]
    t = clock.part("classify (row-wise Python)", t)
    context = gx.get_context(mode="ephemeral")
    batch = context.data_sources.add_pandas("naive").add_dataframe_asset("comments").add_batch_definition_whole_dataframe(
        "all").get_batch(batch_parameters={"dataframe": df})
    suite = [gx.expectations.ExpectColumnValuesToNotBeNull(column="id"),
             gx.expectations.ExpectColumnValuesToNotBeNull(column="created_at"),
             gx.expectations.ExpectColumnValuesToBeBetween(column="like_count", min_value=0),
             gx.expectations.ExpectColumnValuesToMatchRegex(column="id", regex=r"^[0-9_]+$"),
             gx.expectations.ExpectTableRowCountToBeBetween(min_value=1)]
    results = [batch.validate(e) for e in suite]
    clock.part("validate (GX on pandas)", t)
    return clock.done(rows=len(df), files=len(args["files"]), expectations=len(suite),
                      passed=all(r.success for r in results))


@task
def classify_comments(args: dict) -> dict:
    """The comment classifier on ``rows`` synthetic distinct comments: the lexicons alone, or with the models."""
    clock = Clock()
    from benchmarks.comments import synthetic_comments
    from transforms.classify import classify_comments as classify
    from transforms.classify import load_lexicons
    from transforms.textmodel import NO_MODELS, load_comment_models

    lexicons = load_lexicons()
    models = load_comment_models() if args["models"] else NO_MODELS
    frame = synthetic_comments(args["rows"])
    clock.begin()
    out = classify(frame, lexicons, models=models)
    return clock.done(rows=out.height, spam=int(out["is_spam"].sum()),
                      rated=int((out["sentiment"] != "not_rated").sum()))


def main(argv: list[str]) -> int:
    raw = Path(argv[1][1:]).read_text() if argv[1].startswith("@") else argv[1]
    result = TASKS[argv[0]](json.loads(raw))
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
