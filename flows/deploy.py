"""The weekly and backfill deployments, registered against a Prefect API or served in-process.

Two ways to run on a schedule, both with the same names, schedule and limits as
``deploy/prefect.yaml`` (a test keeps them in step):

Both are named after the profile's city (``weekly-<city>``, ``backfill-<city>``), so cities share a server.

- :func:`register` — what ``cityimage deploy`` does: create the process work pool if missing and
  register both deployments to it, on the city's work queue, with the city pack and data folders
  pinned in their job variables (:func:`pinned_env`); a
  ``prefect worker start --pool <pool> --work-queue <city>`` then runs them.
- :func:`serve` — what ``cityimage serve`` does: one long-running process that schedules and runs
  the flows itself, with no work pool or worker (the simplest for one machine). Its deployments are
  named ``weekly-<city>-served`` and ``backfill-<city>-served``, so serving never overwrites what ``deploy``
  registered for a worker; and when a worker's weekly deployment already holds an active schedule,
  the served one takes none, so a week is never scheduled twice.

No flow-level retries: the weekly flow holds the warehouse's writer lock and stops on a failed
quality gate, which a retry would only repeat. Retries live on the tasks that can profit from them
(reading the inbox). A failed week is re-run by hand or by next Monday's run, which is idempotent.
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from cityimage.citypack import BUNDLED, pack_folder
from cityimage.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WEEKLY_ENTRYPOINT = "flows/weekly.py:weekly_pipeline"
BACKFILL_ENTRYPOINT = "flows/weekly.py:backfill"
SERVED_SUFFIX = "-served"
WEEKLY_PARAMETERS: dict[str, Any] = {"week": None, "ingest": True}
CONCURRENCY_LIMIT = 1  # one run writes the warehouse at a time; a second would be refused by the lock anyway
TAGS = ["cityimage"]

T = TypeVar("T")


def synchronous(result: T | Coroutine[Any, Any, T]) -> T:
    """What a Prefect method that dispatches on the event loop (``deploy``, ``from_source``,
    ``to_deployment``) returned: called outside a running loop, as the commands do, it is the value
    itself, never a coroutine, and a coroutine would mean a caller inside a loop that never awaits it."""
    if isinstance(result, Coroutine):
        result.close()
        raise RuntimeError("deployments are registered from synchronous code, outside a running event loop")
    return result


def deployment_names(city_key: str) -> tuple[str, str]:
    """A city's weekly and backfill deployment names. One Prefect server serves many cities: each
    registers its own deployments, and their runs go to its own work queue (``city_key``), which only
    workers holding that city's data folders poll."""
    return f"weekly-{city_key}", f"backfill-{city_key}"


def city_key(settings: Settings) -> str:

    return settings.profile.key


def pinned_env(settings: Settings) -> dict[str, str]:
    """What a deployment's runs read their city and data from, whichever worker starts them: the city
    pack, the zone that cuts its weeks and every data folder, as absolute paths. A run's job variables
    override the worker's own environment, so two workers with different homes still write one
    warehouse per city."""
    folder = pack_folder(settings.city_pack)
    pack = settings.city_pack if folder.parent == BUNDLED else str(folder.resolve())
    folders = {"HOME": settings.home, "WAREHOUSE_PATH": settings.warehouse, "INBOX_PATH": settings.inbox,
               "SNAPSHOT_PATH": settings.snapshots, "REPORT_PATH": settings.reports, "BACKUP_PATH": settings.backups,
               "PROFILE_PATH": settings.profile_file}
    city = {"CITYIMAGE_CITY_PACK": pack, "CITYIMAGE_REPORTING_TIMEZONE": str(settings.reporting_timezone)}
    return city | {f"CITYIMAGE_{k}": str(Path(v).expanduser().resolve()) for k, v in folders.items()}


def weekly_schedules(settings: Settings) -> list[Any]:
    """The weekly cron, in the reporting zone (a week's edge is Monday 00:00 there)."""
    from prefect.schedules import Cron

    return [Cron(settings.weekly_cron, timezone=settings.reporting_timezone)]


def weekly_description(settings: Settings) -> str:
    return (f"Ingest the inbox and publish the week just ended (cron {settings.weekly_cron!r} in "
            f"{settings.reporting_timezone}).")


def ensure_work_pool(name: str) -> bool:
    """Create the process work pool if the API has none of that name; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(WorkPoolCreate(name=name, type="process", base_job_template=template))
            return True


def register(settings: Settings, work_pool: str, project_root: Path = PROJECT_ROOT) -> dict[str, UUID]:
    """Register the weekly (scheduled) and backfill (on demand) deployments against ``PREFECT_API_URL``.

    The code is not copied anywhere: the pull step sets the working directory to ``project_root``,
    so the worker must run on a machine with this checkout and its virtualenv.
    """
    from prefect import flow

    city = city_key(settings)
    weekly_name, backfill_name = deployment_names(city)
    ensure_work_pool(work_pool)
    common: dict[str, Any] = {
        "work_pool_name": work_pool, "work_queue_name": city, "build": False, "push": False,
        "tags": [*TAGS, city], "print_next_steps": False, "ignore_warnings": True,
        "concurrency_limit": CONCURRENCY_LIMIT, "job_variables": {"env": pinned_env(settings)},
    }
    weekly_flow = synchronous(flow.from_source(source=str(project_root), entrypoint=WEEKLY_ENTRYPOINT))
    weekly = synchronous(weekly_flow.deploy(
        name=weekly_name, schedules=weekly_schedules(settings), parameters=dict(WEEKLY_PARAMETERS),
        description=weekly_description(settings), **common,
    ))
    backfill_flow = synchronous(flow.from_source(source=str(project_root), entrypoint=BACKFILL_ENTRYPOINT))
    backfill = synchronous(backfill_flow.deploy(
        name=backfill_name, description="Ingest once, then publish each week of a range; run on demand.", **common,
    ))
    return {f"weekly-pipeline/{weekly_name}": weekly, f"backfill/{backfill_name}": backfill}


class NoPrefectServer(RuntimeError):
    """No Prefect API is configured: a deployment would go to a temporary server and vanish with it."""


def api_url() -> str:
    """The Prefect API the deployments go to (env or Prefect profile); refuses when there is none."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise NoPrefectServer(
            "no Prefect API is configured, so the deployments would be registered in a temporary server that "
            "stops with this command. Start one (`prefect server start`) and set PREFECT_API_URL, e.g. "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api (docs/deployment.md)."
        )
    return url


def worker_schedule_is_active(weekly_name: str) -> bool:
    """Whether ``deploy`` registered the city's weekly deployment for a worker with an active schedule."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            weekly = client.read_deployment_by_name(f"weekly-pipeline/{weekly_name}")
        except ObjectNotFound:
            return False
    return bool(weekly.work_pool_name) and any(s.active for s in weekly.schedules)


def serve(settings: Settings) -> None:
    """Serve both deployments from this process until interrupted: schedule, run, report to the API."""
    from prefect import serve as prefect_serve
    from prefect.logging import get_logger

    from flows.weekly import backfill, weekly_pipeline

    city = city_key(settings)
    weekly_name, backfill_name = deployment_names(city)
    schedules = weekly_schedules(settings)
    if worker_schedule_is_active(weekly_name):
        get_logger("cityimage.serve").warning(
            "weekly-pipeline/%s (run by a worker) already holds the weekly schedule: weekly-pipeline/%s%s is "
            "served without one, for runs on demand", weekly_name, weekly_name, SERVED_SUFFIX)
        schedules = []
    prefect_serve(
        synchronous(weekly_pipeline.to_deployment(
            name=weekly_name + SERVED_SUFFIX, schedules=schedules, parameters=dict(WEEKLY_PARAMETERS),
            concurrency_limit=CONCURRENCY_LIMIT, tags=[*TAGS, city],
        )),
        synchronous(backfill.to_deployment(name=backfill_name + SERVED_SUFFIX, concurrency_limit=CONCURRENCY_LIMIT,
                                           tags=[*TAGS, city])),
    )
