"""``make bench``: each stage next to its floor, in one process tree and one sitting.

    python -m benchmarks.run [--scale 0.01] [--out BENCHMARKS.md] [--naive-files 400] [--skip-prefect]

Every measured unit runs in a fresh child process (``benchmarks.measure``), so its peak RSS is its
own and its imports are paid and shown. The sitting, in order:

1. the year's inbox at ``--scale`` (``benchmarks.scale``; cached under ``var/bench/<scale>/``);
2. ingest of the Graph API comment pages (Facebook, Instagram: most files and rows) into a fresh
   warehouse, against DuckDB alone reading the same files with an explicit schema (the floor);
3. the history: ingest of weeks 1–51 into a fresh warehouse (the whole inbox, every format);
4. the weekly run for week 52 on a copy of that history, stage functions called directly, and the
   same run through Prefect's ``weekly_pipeline`` under ``prefect_test_harness`` (server start-up
   timed apart): ``REPEATS`` pairs in alternating order, medians reported; then, on the first direct
   run's full-year warehouse, validation (all suites), facts (classification timed inside), the
   facts' SQL floor, KPIs + publication, each alone;
5. the weekly run for week 1 on an empty warehouse (its drop only), ``REPEATS`` times;
6. validation's floor: ``benchmarks.validation.measure_validation`` on as many synthetic comments as
   the full-year warehouse holds in ``stg_comment`` (GX suite vs one hand-written DuckDB aggregate);
7. facts on synthetic staging (``benchmarks.facts_memory``) at ``--facts-rows`` stg_comment rows, each
   built twice (the first build, then the next week's with nothing new): the memory slope per
   million rows that the reference-size estimate uses;
8. the naive reference (pandas + row-wise Python classification + GX on pandas) on a subset of the
   comment pages, extrapolated linearly to the floor's subset.

Writes ``BENCHMARKS.md`` (or ``--out``) and ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.measure import run_child
from benchmarks.scale import REFERENCE, BENCH_HOME, ensure_dataset

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCALE = 0.01
# Runs of each weekly measurement (week 1, week 52 direct, week 52 through Prefect); medians are reported.
REPEATS = 3
# stg_comment rows of the two synthetic warehouses whose fact builds fix the memory slope.
FACTS_ROWS = (200_000, 1_000_000)
TARGETS = {
    "ingest": ("time ≤ 1.5× floor", 1.5),
    "validation": ("≤ 2× floor in time and memory", 2.0),
    "incremental": ("week 52 ≤ 1.3× week 1", 1.3),
    "memory": ("full year at reference size < 4 GB peak", 4096.0),
    "prefect": ("overhead < 10 % of the weekly run", 0.10),
}


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def copy_home(source: Path, target: Path) -> Path:
    fresh(target)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    return target


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def run(scale: float, out: Path, results_path: Path, naive_files: int = 400, prefect: bool = True, weeks: int = 52,
        facts_rows: tuple[int, ...] = FACTS_ROWS) -> dict:
    started = time.perf_counter()
    log(f"dataset at scale {scale:g} (generating unless cached under var/bench/{scale:g}/)")
    t = time.perf_counter()
    dataset = run_child_dataset(scale, weeks)
    dataset["seconds_to_ready"] = round(time.perf_counter() - t, 1)
    inbox = Path(dataset["inbox"])
    drops = [inbox / d for d in dataset["drops"]]
    work = fresh(inbox.parent / "work")
    week1, week52 = dataset["weeks"][0], dataset["weeks"][-1]
    zone = "Asia/Shanghai"
    r: dict[str, Any] = {}

    fb = sorted(str(p) for p in inbox.glob("*/facebook/*/comments_*.json"))
    ig = sorted(str(p) for p in inbox.glob("*/instagram/*/comments_*.json"))
    log(f"ingest of the comment-page subset ({len(fb) + len(ig)} files) vs the DuckDB floor")
    r["floor_ingest"] = run_child("floor_ingest", {"db": str(work / "floor.duckdb"), "fb_files": fb, "ig_files": ig})
    r["ingest_subset"] = run_child("ingest", {"home": str(fresh(work / "subset")), "paths": fb + ig})
    shutil.rmtree(work / "subset", ignore_errors=True)
    (work / "floor.duckdb").unlink(missing_ok=True)

    log(f"history: ingest of weeks 1-51 ({len(drops) - 1} drops, every format)")
    history = fresh(work / "history")
    r["ingest_history"] = run_child("ingest", {"home": str(history), "paths": [str(d) for d in drops[:-1]]})

    log(f"weekly run for week 52, direct{' and through Prefect' if prefect else ''}, {REPEATS} times in alternating order")
    full = copy_home(history, work / "week52")
    r.update(week52_pairs(history, full, work, inbox, week52, prefect))
    log("full-year stages: validation, facts, facts floor, KPIs + publish")
    r["gates"] = run_child("gates", {"warehouse": str(full / "warehouse.duckdb"), "week": week52, "zone": zone})
    r["facts"] = run_child("facts", {"home": str(full)})
    r["facts_floor"] = run_child("facts_floor", {"warehouse": str(full / "warehouse.duckdb")})
    r["kpis_publish"] = run_child("kpis_publish", {"home": str(full), "week": week52})
    stg_comments = count_rows(full / "warehouse.duckdb", "stg_comment")

    log(f"weekly run for week 1 on an empty warehouse (direct), {REPEATS} times")
    r["week1_direct_runs"] = [run_child("weekly_direct", {"home": str(fresh(work / "week1")), "paths": [str(drops[0])],
                                                          "week": week1}) for _ in range(REPEATS)]
    r["week1_direct"] = median_run(r["week1_direct_runs"])
    r["week1_stg_comment_rows"] = count_rows(work / "week1" / "warehouse.duckdb", "stg_comment")

    log(f"validation floor on {stg_comments} synthetic comments (benchmarks/validation.py)")
    from benchmarks.validation import measure_validation

    r["validation"] = measure_validation(stg_comments, work / "validation")

    from benchmarks.facts_memory import measure_facts

    r["facts_memory"] = []
    for rows in facts_rows:
        log(f"facts build on {rows:,} synthetic stg_comment rows, twice (benchmarks/facts_memory.py)")
        r["facts_memory"].append(measure_facts(rows, work / "facts-memory"))

    subset = (fb[: naive_files // 2] + ig[: naive_files // 2])
    log(f"naive reference on {len(subset)} comment pages")
    r["naive"] = run_child("naive", {"files": subset})
    r["ingest_on_naive_subset"] = run_child("ingest", {"home": str(fresh(work / "naive-subset")), "paths": subset})
    r["floor_on_naive_subset"] = run_child("floor_ingest", {"db": str(work / "naive-floor.duckdb"),
                                                            "fb_files": [p for p in subset if "/facebook/" in p],
                                                            "ig_files": [p for p in subset if "/instagram/" in p]})

    results = summarise(scale, dataset, r, stg_comments, len(fb) + len(ig), time.perf_counter() - started)
    results_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    out.write_text(render(results))
    log(f"wrote {out} and {results_path} in {time.perf_counter() - started:.0f} s")
    return results


def week52_pairs(history: Path, full: Path, work: Path, inbox: Path, week: str, prefect: bool) -> dict[str, Any]:
    """Week 52 run directly and through Prefect, ``REPEATS`` pairs in alternating order, each on a fresh
    copy of the history: on shared cores one pair is noise, the medians are the figures.

    The first direct run is made in ``full``, whose warehouse the full-year stages measure afterwards.
    """
    direct: list[dict] = []
    flow: list[dict] = []
    for i in range(REPEATS):
        order = ("direct", "prefect") if i % 2 == 0 else ("prefect", "direct")
        for kind in order:
            if kind == "prefect" and not prefect:
                continue
            home = full if kind == "direct" and not direct else copy_home(history, work / f"week52-{kind}")
            task = "weekly_direct" if kind == "direct" else "weekly_prefect"
            (direct if kind == "direct" else flow).append(
                run_child(task, {"home": str(home), "inbox": str(inbox), "week": week}))
    out: dict[str, Any] = {"week52_direct_runs": direct, "week52_direct": median_run(direct)}
    if flow:
        out.update(week52_prefect_runs=flow, week52_prefect=median_run(flow))
    return out


def median_run(runs: list[dict]) -> dict:
    """The run with the median time (the lower middle of an even count), figures and all."""
    return sorted(runs, key=lambda m: m["seconds"])[(len(runs) - 1) // 2]


def run_child_dataset(scale: float, weeks: int = 52) -> dict:
    """Generate the inbox in a child (the generator holds the year in memory), or read the cache."""
    import subprocess

    out = subprocess.run([sys.executable, "-m", "benchmarks.scale", repr(scale), str(weeks)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(f"generating the benchmark inbox failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def count_rows(db: Path, table: str) -> int:
    import subprocess

    code = f"import duckdb; c = duckdb.connect({str(db)!r}, read_only=True); print(c.execute('SELECT count(*) FROM {table}').fetchall()[0][0])"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip())


# -- figures ------------------------------------------------------------------------------------


def summarise(scale: float, dataset: dict, r: dict, stg_comments: int, subset_files: int, seconds: float) -> dict:
    v = r["validation"]
    rows: list[dict[str, Any]] = []

    def row(stage, m, floor=None, target=None, limit=None, value=None, note="", floor_note=""):
        entry = {"stage": stage, "seconds": m["seconds"] if m else None, "peak_rss_mb": m["peak_rss_mb"] if m else None,
                 "import_seconds": m.get("import_seconds") if m else None,
                 "floor_seconds": floor["seconds"] if floor else None, "floor_peak_rss_mb": floor["peak_rss_mb"] if floor else None,
                 "ratio": value if value is not None else (ratio(m["seconds"], floor["seconds"]) if m and floor else None),
                 "target": target, "limit": limit, "note": note, "floor": floor_note}
        if limit is not None and entry["ratio"] is not None:
            entry["met"] = entry["ratio"] <= limit
            entry["miss_by"] = None if entry["met"] else f"{entry['ratio'] / limit:.2f}× the target ({entry['ratio']} vs {limit})"
        else:
            entry["met"] = None
        rows.append(entry)
        return entry

    ing = r["ingest_subset"]
    row("ingest: comment pages (FB + IG)", ing, r["floor_ingest"], TARGETS["ingest"][0], 1.5,
        note=f"{ing['files']} files ({ing['files_loaded']} loaded; the rest are byte-identical re-exports, a no-op by hash, "
             f"which the floor reads again), {ing['rows_read']} rows read, {ing['rows_loaded']} loaded, {ing['rows_duplicate']} "
             f"duplicate, {ing['rows_skipped']} skipped, {ing['rows_quarantined']} quarantined (floor: {r['floor_ingest']['rows_loaded']} rows, no checks)",
        floor_note="DuckDB read_json, explicit schema, unnest comments + replies, into a fresh DuckDB file")
    h = r["ingest_history"]
    row("ingest: weeks 1-51, every format", h, note=f"{h['files']} files, {h['rows_loaded']} rows; no one-line floor for "
        "zips, UTF-16 and preamble CSVs")
    gx_m = {"seconds": v["gx"]["seconds"], "peak_rss_mb": v["gx"]["peak_rss_mb"], "import_seconds": v["gx"]["import_seconds"]}
    fl_m = {"seconds": v["duckdb"]["seconds"], "peak_rss_mb": v["duckdb"]["peak_rss_mb"]}
    vt = row("validation: stg_comment suite (GX, SQL path) — time", gx_m, fl_m, TARGETS["validation"][0], 2.0,
             note=f"{v['rows']} synthetic comments = the year's stg_comment rows; {v['expectations']} expectations",
             floor_note="the same checks as one hand-written DuckDB aggregate")
    row("validation: stg_comment suite — memory growth", {"seconds": None, "peak_rss_mb": v["gx"]["rss_growth_mb"]},
        {"seconds": None, "peak_rss_mb": v["duckdb"]["rss_growth_mb"]}, TARGETS["validation"][0], 2.0,
        value=v["memory_growth_ratio"], note=f"peak RSS ratio {v['peak_memory_ratio']} (imports included)")
    g = r["gates"]
    row("validation: all suites on the full-year warehouse", g, note=f"{g['expectations']} expectations, "
        f"{g['critical']} critical, {g['warnings']} warnings; no single floor")
    f, ff = r["facts"], r["facts_floor"]
    row("facts + classification (build_facts)", f, ff, "reported", None,
        note=f"classification inside: posts {f['parts'].get('classify_posts')} s, comments {f['parts'].get('classify_comments')} s",
        floor_note="SQL: latest export per post, snapshot history, latest comment + reply linking (no classification)")
    cls = (f["parts"].get("classify_posts") or 0) + (f["parts"].get("classify_comments") or 0)
    row("facts without classification (build_facts − classifiers)", {"seconds": round(f["seconds"] - cls, 3),
        "peak_rss_mb": f["peak_rss_mb"]}, ff, "reported", None, floor_note="as above")
    row("classification alone (posts + comments)", {"seconds": round(cls, 3), "peak_rss_mb": None}, None, "no SQL floor", None)
    k = r["kpis_publish"]
    row("KPIs + publication", k, note=f"compute {k['parts'].get('compute_kpis')} s, publish {k['parts'].get('publish')} s")
    w1, w52 = r["week1_direct"], r["week52_direct"]
    row("weekly run, week 52 vs week 1 (direct)", w52, w1, TARGETS["incremental"][0], 1.3,
        note=f"new input: week 52 loads {w52['files_loaded']} files / {w52['rows_loaded']:,} rows, week 1 "
             f"{w1['files_loaded']} / {w1['rows_loaded']:,}; week 52: " + ", ".join(f"{a} {b}" for a, b in w52["parts"].items()),
        floor_note="week 1 on an empty warehouse: " + ", ".join(f"{a} {b}" for a, b in w1["parts"].items()))
    per_k52 = w52["seconds"] / max(w52["rows_loaded"], 1) * 1000
    per_k1 = w1["seconds"] / max(w1["rows_loaded"], 1) * 1000
    row("weekly run per 1,000 new rows, week 52 vs week 1 (direct)", {"seconds": round(per_k52, 3), "peak_rss_mb": None},
        {"seconds": round(per_k1, 3), "peak_rss_mb": None}, "reported (the same comparison, per row of new input)", None,
        note="seconds per thousand rows loaded by the run: the two drops differ in size, so this divides each run's "
             "time by the new rows it loaded")
    w52_rest = round(w52["seconds"] - w52["parts"]["ingest"], 3)
    w1_rest = round(w1["seconds"] - w1["parts"]["ingest"], 3)
    row("weekly run without ingest, week 52 vs week 1 (direct)", {"seconds": w52_rest, "peak_rss_mb": None},
        {"seconds": w1_rest, "peak_rss_mb": None}, "reported (what the run costs once files are loaded)", None,
        note="gates, facts, gates, KPIs and publish only: what the run costs once the files are in")
    prefect = r.get("week52_prefect")
    if prefect:
        overhead = round((prefect["seconds"] - w52["seconds"]) / w52["seconds"], 3)
        direct_s = [m["seconds"] for m in r["week52_direct_runs"]]
        flow_s = [m["seconds"] for m in r["week52_prefect_runs"]]
        row("Prefect: weekly_pipeline vs direct (week 52)", prefect, w52, TARGETS["prefect"][0], 0.10, value=overhead,
            note=f"ratio column = overhead fraction (median flow − median direct) ÷ median direct over {len(flow_s)} pairs "
                 f"run in alternating order (direct {', '.join(map(str, direct_s))} s; flow {', '.join(map(str, flow_s))} s); "
                 f"a negative value means the difference is below the run-to-run noise of the shared cores; Prefect's "
                 f"expected fixed cost (≈1.2 s per flow run + ≈0.1 s per task × 6 tasks, DESIGN.md) is "
                 f"{1.8 / w52['seconds']:.1%} of the direct run; server start-up {prefect['server_startup_seconds']} s and "
                 f"flow imports {prefect['import_seconds']} s (both excluded)",
            floor_note="the same stage functions called directly")
    memory = memory_figures(r, stg_comments / scale)
    for m in r["facts_memory"]:
        row(f"facts build on {m['rows']:,} synthetic stg_comment rows: first / again",
            {"seconds": m["first"]["seconds"], "peak_rss_mb": m["first"]["peak_rss_mb"]}, None, "reported", None,
            note=f"first build over the whole history {m['first']['seconds']} s, peak {m['first']['peak_rss_mb']} MB "
                 f"(growth {m['first']['rss_growth_mb']} MB); the same build again, as next week's run sees it with no new "
                 f"comment, {m['again']['seconds']} s, peak {m['again']['peak_rss_mb']} MB; {m['distinct_texts']:,} distinct "
                 f"texts of {m['avg_text_chars']} characters on average")
    row("peak memory, full year (largest stage)", {"seconds": None, "peak_rss_mb": memory["measured_peak_mb"]}, None,
        TARGETS["memory"][0], 4096.0, value=memory["extrapolated_reference_peak_mb"],
        note=f"measured {memory['measured_peak_mb']} MB in '{memory['worst_stage']}' at scale {scale:g}, and "
             f"{memory['facts']['large_peak_mb']} MB building facts on {memory['facts']['large_rows']:,} stg_comment rows. "
             f"Ratio column = EXTRAPOLATED MB at the reference size ({memory['reference_stg_comment_rows']:,} stg_comment "
             f"rows), from the two measured fact builds ({memory['facts']['small_rows']:,} rows → "
             f"{memory['facts']['small_peak_mb']} MB, {memory['facts']['large_rows']:,} → {memory['facts']['large_peak_mb']} MB: "
             f"{memory['facts']['mb_per_million_rows']:,} MB per million rows), assuming linear growth beyond the larger one")

    nv, ns, nf = r["naive"], r["ingest_on_naive_subset"], r["floor_on_naive_subset"]
    factor = subset_files / max(nv["files"], 1)
    naive = {
        "files": nv["files"], "rows": nv["rows"], "seconds": nv["seconds"], "peak_rss_mb": nv["peak_rss_mb"],
        "import_seconds": nv["import_seconds"], "parts": nv["parts"],
        "project_ingest_seconds_same_files": ing_s(ns), "floor_seconds_same_files": nf["seconds"],
        "extrapolated_to_subset_seconds": round(nv["seconds"] * factor, 1), "extrapolation_factor": round(factor, 2),
        "note": "naive = pandas json read + row-wise Python lexicon matching + 5 GX expectations on pandas; "
                "project = ingest only (classification runs later, in facts)",
    }
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "scale": scale,
        "reference": REFERENCE,
        "dataset": {k: dataset.get(k) for k in ("sample_scale", "files", "bytes", "posts", "comments", "public_mentions",
                                                 "search_console_exports", "generate_seconds", "cached")},
        "stg_comment_rows": stg_comments,
        "memory": memory,
        "rows": rows,
        "naive": naive,
        "raw": r,
        "total_seconds": round(seconds, 1),
    }


def memory_figures(r: dict, reference_rows: float) -> dict[str, Any]:
    """Measured peaks of every pipeline stage at this scale, and the facts build's peak extrapolated to
    the reference year from the two synthetic builds (the largest table drives it)."""
    stage_peaks = {name: m["peak_rss_mb"] for name, m in r.items() if isinstance(m, dict) and "peak_rss_mb" in m
                   and name not in ("naive", "floor_ingest", "floor_on_naive_subset", "ingest_on_naive_subset")}
    stage_peaks["validation_gx"] = r["validation"]["gx"]["peak_rss_mb"]
    worst = max(stage_peaks, key=stage_peaks.get)
    small, large = r["facts_memory"][0], r["facts_memory"][-1]
    slope = max(large["first"]["peak_rss_mb"] - small["first"]["peak_rss_mb"], 0.0) / max(large["rows"] - small["rows"], 1)
    extrapolated = round(large["first"]["peak_rss_mb"] + slope * max(reference_rows - large["rows"], 0), 0)
    return {"worst_stage": worst, "measured_peak_mb": stage_peaks[worst], "stage_peaks_mb": stage_peaks,
            "reference_stg_comment_rows": round(reference_rows),
            "facts": {"small_rows": small["rows"], "small_peak_mb": small["first"]["peak_rss_mb"],
                      "large_rows": large["rows"], "large_peak_mb": large["first"]["peak_rss_mb"],
                      "mb_per_million_rows": round(slope * 1e6, 1)},
            "extrapolated_reference_peak_mb": max(extrapolated, stage_peaks[worst])}


def ing_s(m: dict) -> float:
    return m["seconds"]


def machine() -> dict:
    import psutil
    import importlib.metadata as md

    return {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "duckdb": md.version("duckdb"), "polars": md.version("polars"), "pandas": md.version("pandas"),
            "great_expectations": md.version("great-expectations"), "prefect": md.version("prefect")}


def fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.2f}{unit}" if abs(x) < 100 else f"{x:,.0f}{unit}"
    return f"{x}{unit}"


def render(res: dict) -> str:
    m, d = res["machine"], res["dataset"]
    lines = [
        "# Benchmarks", "",
        f"Written by `make bench` (`python -m benchmarks.run --scale {res['scale']:g}`) on {res['generated_at']}; "
        f"the whole sitting took {res['total_seconds']:.0f} s. Every figure is one run in a fresh child process "
        "(wall-clock seconds around the stage, imports excluded but listed in `results.json`; peak memory is the child's "
        "peak RSS, imports included). See `docs/benchmarks.md` for how to read this file.", "",
        f"**Machine**: {m['cores']} cores, {m['memory_gb']} GB RAM, Python {m['python']}, DuckDB {m['duckdb']}, "
        f"Polars {m['polars']}, pandas {m['pandas']}, Great Expectations {m['great_expectations']}, Prefect {m['prefect']} "
        f"({m['platform']}). The cores were shared with other work during the run: treat small differences as noise.", "",
        f"**Scale**: {res['scale']:g} of the reference year (reference: "
        + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in res["reference"].items()) + "). "
        f"Generated with the sample generator at its scale {d['sample_scale']}, 52 reported weeks: {d['files']:,} files "
        f"({d['bytes'] / 2**20:,.0f} MB), {d['posts']:,} posts, {d['comments']:,} comments, {d['public_mentions']:,} "
        f"public mentions, {d['search_console_exports']} Search Console drops; {res['stg_comment_rows']:,} rows in "
        "`stg_comment` after the year (every weekly export of a comment is a row).", "",
        "| stage | time (s) | peak memory (MB) | floor time (s) | floor memory (MB) | ratio | target | met? |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in res["rows"]:
        met = "–" if row["met"] is None else ("yes" if row["met"] else f"**no**: {row['miss_by']}")
        lines.append(f"| {row['stage']} | {fmt(row['seconds'])} | {fmt(row['peak_rss_mb'])} | {fmt(row['floor_seconds'])} | "
                     f"{fmt(row['floor_peak_rss_mb'])} | {fmt(row['ratio'])} | {row['target'] or '–'} | {met} |")
    lines += ["", "Notes per row:", ""]
    for row in res["rows"]:
        bits = [b for b in (row["note"], ("floor: " + row["floor"]) if row["floor"] else "") if b]
        if bits:
            lines.append(f"- **{row['stage']}**: " + "; ".join(bits) + ".")
    n = res["naive"]
    lines += [
        "", "## Naive reference", "",
        f"pandas reading the Graph API comment pages, row-wise Python classification with the project's comment lexicons "
        f"({n['rows']:,} rows from {n['files']} files) and 5 Great Expectations checks on pandas: **{n['seconds']:.1f} s**, "
        f"peak {n['peak_rss_mb']:.0f} MB (imports {n['import_seconds']:.1f} s, not included). Split: "
        + ", ".join(f"{k} {v} s" for k, v in n["parts"].items()) + ". "
        f"On the same files the project's ingest took {n['project_ingest_seconds_same_files']:.1f} s and the DuckDB floor "
        f"{n['floor_seconds_same_files']:.1f} s. Extrapolated linearly (×{n['extrapolation_factor']}) to the whole "
        f"comment-page subset: about {n['extrapolated_to_subset_seconds']:.0f} s (**an extrapolation, not a measurement**). "
        f"{n['note']}.", "",
        "## Misses, why, and what would close them", "",
    ]
    lines += [f"- {line}" for line in explain(res)] or ["- none"]
    return "\n".join(lines) + "\n"


def explain(res: dict) -> list[str]:
    """Why each missed target is missed, from the figures of this sitting, and what would close it."""
    out = []
    raw = res["raw"]
    for row in res["rows"]:
        if row["met"] is not False:
            continue
        s = row["stage"]
        if s.startswith("ingest"):
            ing = raw["ingest_subset"]
            per_file = ing["seconds"] / max(ing["files"], 1) * 1000
            out.append(f"**{s}** misses by {row['miss_by']}. What is left is per-file Python work (≈{per_file:.1f} ms per "
                       "file): detecting the layout, flattening each JSON page into records and shaping each file's "
                       "frame, while the floor reads all files in one statement. Closing it: hand the Graph API comment "
                       "pages to DuckDB's `read_json` with the reader's schema and keep Python for the quirks.")
        elif s.startswith("validation"):
            out.append(f"**{s}** misses by {row['miss_by']}. Great Expectations' fixed cost per run and per suite "
                       "(context, batch definition, about 0.1 s) dominates at small row counts; at 1M rows the gate is "
                       "about 1× the floor (docs/quality_gates.md). Closing it at small sizes: one GX context per process.")
        elif s.startswith("weekly run"):
            w52, w1 = raw["week52_direct"]["parts"], raw["week1_direct"]["parts"]
            grown = sorted(((w52[k] - w1.get(k, 0), k) for k in w52), reverse=True)[:3]
            out.append(f"**{s}** misses by {row['miss_by']}. Grew most: " + ", ".join(f"{k} +{d:.1f} s" for d, k in grown)
                       + ". Week 52's drop is larger than week 1's (see the per-row comparison), and facts, the gates on staging "
                       "and the latest-export-wins are rebuilt over the whole history every run; only classification "
                       "is incremental. Closing it: rebuild facts only for posts and comments touched by the new load.")
        elif s.startswith("Prefect"):
            out.append(f"**{s}** misses: median overhead {row['ratio']:.0%} of the direct run over "
                       f"{len(raw.get('week52_prefect_runs', []))} alternating pairs (every figure in the note). Prefect's "
                       "own cost per flow run is about 1.2 s plus tens of ms per task; a larger share means the run is "
                       "short at this scale or the cores were busy.")
        elif s.startswith("peak memory"):
            out.append(f"**{s}** is over 4 GB by extrapolation ({row['ratio']:,.0f} MB at the reference size). The fact "
                       "build streams comments in batches (docs/architecture.md, \"How facts are built\"), so what "
                       "still grows with the history is what is built whole: `dim_account` with one row per public "
                       "author, the first replies under every comment, and the posts. Growth beyond 1M rows is assumed "
                       "linear; `--facts-rows 1000000,10000000` measures it at the reference size (about 20 minutes more; "
                       "docs/architecture.md records 1.8 GB at 10M rows). "
                       "Closing it: build `dim_account`'s public authors in SQL.")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                        help=f"fraction of the reference year (5M comments); default {DEFAULT_SCALE}")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--naive-files", type=int, default=400, help="comment pages the naive reference reads")
    parser.add_argument("--weeks", type=int, default=52, help="reported weeks (52 for the year; fewer for smoke tests)")
    parser.add_argument("--facts-rows", default=",".join(map(str, FACTS_ROWS)),
                        help="stg_comment rows of the synthetic fact builds that measure memory growth, comma-separated")
    parser.add_argument("--skip-prefect", action="store_true", help="leave out the Prefect flow (its server takes a while)")
    parser.add_argument("--from-results", action="store_true",
                        help="measure nothing: re-render --out (and --results) from the raw figures already in --results")
    args = parser.parse_args(argv)
    if args.from_results:
        previous = json.loads(args.results.read_text())
        raw = previous["raw"]
        res = summarise(previous["scale"], previous["dataset"], raw, previous["stg_comment_rows"], raw["floor_ingest"]["files"],
                        previous["total_seconds"])
        res["generated_at"], res["machine"] = previous["generated_at"], previous["machine"]
        args.results.write_text(json.dumps(res, indent=1, default=str) + "\n")
        args.out.write_text(render(res))
        return 0
    run(args.scale, args.out, args.results, args.naive_files, prefect=not args.skip_prefect, weeks=args.weeks,
        facts_rows=tuple(int(n) for n in args.facts_rows.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
