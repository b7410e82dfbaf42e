"""The runs' diary in the warehouse (``ops_run``, ``ops_load``): one row per run of a week, and the
runs a killed process left ``running`` closed as ``interrupted``."""

from __future__ import annotations

from datetime import datetime, timezone

from cityimage.settings import Settings
from cityimage.weeks import Week
from warehouse.connection import open_writer


def record_run(settings: Settings, run_id: str, week: Week, status: str, message: str | None, flow_run_id: str | None = None) -> None:
    """Upsert the run's row in ``ops_run`` so `cityimage status` can show it."""
    now = datetime.now(timezone.utc)
    with open_writer(settings.warehouse, "record run", settings.reader_wait_s) as con:
        con.execute(
            "INSERT INTO ops_run (run_id, week_id, flow_run_id, started_at, status, message) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, message = excluded.message, finished_at = ?",
            [run_id, week.id, flow_run_id, now, status, message, now if status != "running" else None],
        )


def close_interrupted(settings: Settings, why: str | None = None, since: datetime | None = None) -> int:
    """Mark runs and loads left ``running`` by a killed process as ``interrupted``; returns how many.

    Called under the writer lock, so nothing else can be running: a ``running`` row is a crash's trace.
    Their data needs no repair (each batch of files and each stage's swap is one transaction). With
    ``since`` (a supervised run stopped by a signal, ``cityimage.supervise``), the runs it started that
    ended ``failed`` on the way down are interrupted too, and ``why`` says by what.
    """
    if not settings.warehouse.is_file():
        return 0
    now = datetime.now(timezone.utc)
    why = why or "the process ended without finishing (killed or power cut); the next run redid its work"
    stopped = "status = 'running'" if since is None else "(status = 'running' OR (status = 'failed' AND started_at >= $since))"
    with open_writer(settings.warehouse, "close interrupted runs", settings.reader_wait_s) as con:
        runs = con.execute(
            f"UPDATE ops_run SET status = 'interrupted', finished_at = $now, "
            f"message = CASE WHEN status = 'failed' THEN $why ELSE coalesce(message, $why) END WHERE {stopped}",
            {"now": now, "why": why} | ({"since": since} if since else {})).fetchall()
        loads = con.execute(
            "UPDATE ops_load SET status = 'interrupted', finished_at = ? WHERE status = 'running'", [now]).fetchall()
    return int(runs[0][0] if runs else 0) + int(loads[0][0] if loads else 0)
