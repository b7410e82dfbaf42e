"""Deployments: ``deploy/prefect.yaml`` and ``cityimage deploy`` agree, and a real local Prefect server
plus a process worker runs the weekly deployment to a published snapshot when triggered through the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import duckdb
import pytest
import yaml

from cityimage.settings import Settings
from flows import deploy as spec
from tests.servers import Postgres, free_port, postgres_server

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AUTHOR_KEY = "deployment-test-key-0123456789abcdef"
WEEK = "2026-W47"


def test_prefect_yaml_declares_what_cityimage_deploy_registers() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in config["deployments"]}
    weekly_name, backfill_name = spec.deployment_names("chongqing")  # the bundled profile's city
    weekly, backfill = deployments[weekly_name], deployments[backfill_name]
    assert weekly["entrypoint"] == spec.WEEKLY_ENTRYPOINT and backfill["entrypoint"] == spec.BACKFILL_ENTRYPOINT
    defaults = Settings(author_key=AUTHOR_KEY)
    assert weekly["schedules"] == [{"cron": defaults.weekly_cron, "timezone": defaults.reporting_timezone, "active": True}]
    assert backfill["schedules"] == []
    assert weekly["parameters"] == spec.WEEKLY_PARAMETERS
    assert weekly["concurrency_limit"] == backfill["concurrency_limit"] == spec.CONCURRENCY_LIMIT == 1
    assert weekly["work_pool"]["name"] == backfill["work_pool"]["name"] == "cityimage-process"
    assert weekly["work_pool"]["work_queue_name"] == backfill["work_pool"]["work_queue_name"] == "chongqing"
    for deployment in (weekly, backfill):  # the pack and the home are pinned, as cityimage deploy pins them
        env = deployment["work_pool"]["job_variables"]["env"]
        assert env["CITYIMAGE_CITY_PACK"] == defaults.city_pack and env["CITYIMAGE_HOME"] == "{{ $CITYIMAGE_HOME }}"
        assert set(env) <= set(spec.pinned_env(defaults))
    assert spec.city_key(defaults) == "chongqing"
    assert list(config["pull"][0]) == ["prefect.deployments.steps.set_working_directory"]
    assert (ROOT / spec.WEEKLY_ENTRYPOINT.split(":")[0]).is_file()


def test_the_weekly_schedule_is_monday_six_in_the_reporting_zone_unless_set() -> None:
    (schedule,) = spec.weekly_schedules(Settings(author_key=AUTHOR_KEY))
    assert schedule.cron == "0 6 * * 1" and schedule.timezone == "Asia/Shanghai"
    (schedule,) = spec.weekly_schedules(Settings(author_key=AUTHOR_KEY, weekly_cron="30 7 * * 2",
                                                 reporting_timezone="Europe/Paris"))
    assert schedule.cron == "30 7 * * 2" and schedule.timezone == "Europe/Paris"


def test_a_cron_without_five_fields_is_refused_naming_the_setting() -> None:
    from cityimage.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="weekly_cron"):
        load_settings(author_key=AUTHOR_KEY, weekly_cron="every monday")


# -- a real server, a real worker --------------------------------------------------------------


def _stop(process: subprocess.Popen) -> None:
    """Stop a process and everything it started (its own session), however the test ended."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, limit: float = 150) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {limit}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """A sample inbox, the cityimage settings, and a Prefect home of the test's own."""
    from cityimage.sample import default_weeks, write_sample_inbox

    home = tmp_path / "home"
    write_sample_inbox(home / "inbox", default_weeks())
    port = free_port()
    return {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "CITYIMAGE_HOME": str(home),
        "CITYIMAGE_AUTHOR_KEY": AUTHOR_KEY,
        "CITYIMAGE_PROJECT_DIR": str(ROOT),
    }


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[Postgres | None]:
    """The Prefect server's database: SQLite in its PREFECT_HOME (None), or a real PostgreSQL cluster
    on 127.0.0.1 for a test parametrized with ``database="postgres"``."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    try:
        with postgres_server() as pg:
            yield pg
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def server(environment: dict[str, str], database: Postgres | None, tmp_path: Path) -> Iterator[str]:
    """``prefect server start`` on a free port, on SQLite in the test's PREFECT_HOME or on PostgreSQL
    (the connection URL with its password URL-encoded, as docs/deployment.md says); its API URL."""
    log = tmp_path / "server.log"
    env = environment | ({"PREFECT_SERVER_DATABASE_CONNECTION_URL": database.url()} if database else {})
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", environment["PREFECT_SERVER_API_PORT"],
             "--no-ui", "--analytics-off"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path,
        )
    try:
        _wait_healthy(environment["PREFECT_API_URL"], process, log)
        yield environment["PREFECT_API_URL"]
    finally:
        _stop(process)


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """A process worker on the pool's chongqing queue, in its own session (``_stop`` ends it and its runs)."""
    with log.open("w") as sink:
        return subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", "cityimage-process", "--work-queue", "chongqing",
             "--type", "process"],
            env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, cwd=log.parent,
        )


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)
def test_a_triggered_weekly_deployment_publishes_the_week(server: str, database: Postgres | None,
                                                          environment: dict[str, str], tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # 1. The CLI path on a new server creates the process work pool and registers both deployments.
    out = _run([str(BIN / "cityimage"), "deploy"], environment).stdout
    assert "created process work pool cityimage-process" in out
    # 2. The YAML path registers against the real server too (it needs the pool to exist).
    _run([str(BIN / "prefect"), "--no-prompt", "deploy", "--prefect-file", "deploy/prefect.yaml", "--all"], environment)
    # 3. The CLI path again: idempotent, and the run below goes through what it registered.
    out = _run([str(BIN / "cityimage"), "deploy"], environment).stdout
    assert "weekly-pipeline/weekly-chongqing" in out and "backfill/backfill-chongqing" in out
    assert "created process work pool" not in out and "--work-queue chongqing" in out
    # 4. A second city on the same server registers its own deployments beside the first's.
    hangzhou_home = tmp_path / "hangzhou-home"
    out = _run([str(BIN / "cityimage"), "deploy"],
               environment | {"CITYIMAGE_CITY_PACK": "hangzhou", "CITYIMAGE_HOME": str(hangzhou_home)}).stdout
    assert "weekly-pipeline/weekly-hangzhou" in out and "--work-queue hangzhou" in out
    home = Path(environment["CITYIMAGE_HOME"])
    worker = _worker(environment, tmp_path / "worker.log")
    try:
        with temporary_settings({PREFECT_API_URL: server}):
            with get_client(sync_client=True) as client:
                weekly = client.read_deployment_by_name("weekly-pipeline/weekly-chongqing")
                backfill = client.read_deployment_by_name("backfill/backfill-chongqing")
                other = client.read_deployment_by_name("weekly-pipeline/weekly-hangzhou")
            assert weekly.global_concurrency_limit is not None and weekly.global_concurrency_limit.limit == 1
            assert backfill.global_concurrency_limit is not None and backfill.global_concurrency_limit.limit == 1
            assert [s.schedule.cron for s in weekly.schedules] == ["0 6 * * 1"]
            assert weekly.schedules[0].schedule.timezone == "Asia/Shanghai" and backfill.schedules == []
            assert weekly.parameters == {"week": None, "ingest": True}
            assert weekly.work_pool_name == "cityimage-process" and weekly.work_queue_name == "chongqing"
            assert other.work_queue_name == "hangzhou" and other.id != weekly.id
            assert weekly.job_variables["env"]["CITYIMAGE_HOME"] == str(home.resolve())
            assert weekly.job_variables["env"]["CITYIMAGE_CITY_PACK"] == "chongqing"
            assert other.job_variables["env"]["CITYIMAGE_CITY_PACK"] == "hangzhou"
            assert other.job_variables["env"]["CITYIMAGE_WAREHOUSE_PATH"] == str((hangzhou_home / "warehouse.duckdb").resolve())
            run = run_deployment("weekly-pipeline/weekly-chongqing", parameters={"week": WEEK}, timeout=300, poll_interval=2,
                                 as_subflow=False)
        assert run.state is not None and run.state.is_completed(), (run.state, (tmp_path / "worker.log").read_text()[-4000:])
    finally:
        _stop(worker)
    # 5. Another worker, started with another home, runs the city's next run into the same warehouse.
    stray = tmp_path / "stray-home"
    worker = _worker(environment | {"CITYIMAGE_HOME": str(stray)}, tmp_path / "worker2.log")
    try:
        with temporary_settings({PREFECT_API_URL: server}):
            again = run_deployment("weekly-pipeline/weekly-chongqing", parameters={"week": WEEK}, timeout=300,
                                   poll_interval=2, as_subflow=False)
        assert again.state is not None and again.state.is_completed(), (tmp_path / "worker2.log").read_text()[-4000:]
    finally:
        _stop(worker)
    assert not (stray / "warehouse.duckdb").exists()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT flow_run_id FROM ops_run").fetchall()
    assert {str(run.id), str(again.id)} <= {r[0] for r in runs}
    assert (home / "snapshots" / "manifests" / f"week={WEEK}.json").is_file()
    assert (home / "snapshots" / "kpi_weekly" / f"week={WEEK}" / "kpi_weekly.parquet").is_file()
    if database is not None:  # the server kept its state in PostgreSQL, not in a SQLite file
        assert database.sql("SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED'") != "0"
        assert not list(Path(environment["PREFECT_HOME"]).glob("*.db"))


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_cityimage_serve_keeps_the_workers_deployments_and_runs_the_weekly_flow_in_process(
    server: str, environment: dict[str, str], tmp_path: Path
) -> None:
    """The one-machine path: no pool, no worker; ``cityimage serve`` schedules and runs the flows itself."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    _run([str(BIN / "cityimage"), "deploy"], environment)  # a worker's deployments exist: serving must keep them
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        serving = subprocess.Popen([str(BIN / "cityimage"), "serve"], env=environment, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    try:
        with temporary_settings({PREFECT_API_URL: server}):
            weekly = None
            deadline = time.monotonic() + 90
            while weekly is None and time.monotonic() < deadline:
                assert serving.poll() is None, log.read_text()[-3000:]
                try:
                    with get_client(sync_client=True) as client:
                        weekly = client.read_deployment_by_name("weekly-pipeline/weekly-chongqing-served")
                except ObjectNotFound:
                    time.sleep(1)
            assert weekly is not None, log.read_text()[-3000:]
            assert weekly.global_concurrency_limit is not None and weekly.global_concurrency_limit.limit == 1
            # The worker's deployment keeps its pool, checkout and the Monday schedule; the served one has none.
            with get_client(sync_client=True) as client:
                registered = client.read_deployment_by_name("weekly-pipeline/weekly-chongqing")
            assert registered.work_pool_name == "cityimage-process" and registered.pull_steps
            assert [(s.schedule.cron, s.schedule.timezone) for s in registered.schedules] == [("0 6 * * 1", "Asia/Shanghai")]
            assert weekly.schedules == [] and weekly.work_pool_name is None
            assert "already holds the weekly schedule" in log.read_text()
            run = run_deployment("weekly-pipeline/weekly-chongqing-served", parameters={"week": WEEK}, timeout=300,
                                 poll_interval=2, as_subflow=False)
        assert run.state is not None and run.state.is_completed(), (run.state, log.read_text()[-4000:])
    finally:
        _stop(serving)
    assert (Path(environment["CITYIMAGE_HOME"]) / "snapshots" / "manifests" / f"week={WEEK}.json").is_file()


@pytest.mark.parametrize("catalog", ["md:cityimage", "ducklake:postgres:dbname=catalog"])
def test_a_shared_catalog_is_refused_at_start_with_a_clear_message(catalog: str, monkeypatch) -> None:
    from cityimage.settings import SettingsError, load_settings

    monkeypatch.setenv("CITYIMAGE_WAREHOUSE_PATH", catalog)
    with pytest.raises(SettingsError, match="CITYIMAGE_WAREHOUSE_PATH.*not available on this machine"):
        load_settings()


def test_the_incomplete_week_automation_example_is_a_valid_prefect_automation() -> None:
    import uuid

    import yaml
    from prefect.events.schemas.automations import AutomationCore

    text = (ROOT / "deploy" / "examples" / "automation-incomplete-week.yaml").read_text()
    data = yaml.safe_load(text.replace("BLOCK_DOCUMENT_ID", str(uuid.uuid4())))
    (automation,) = [AutomationCore.model_validate(item) for item in data["automations"]]
    assert automation.trigger.expect == {"prefect.flow-run.Incomplete"}
    assert automation.actions[0].type == "send-notification"


def test_deploy_without_a_prefect_server_is_refused(tmp_path: Path) -> None:
    """Without an API, Prefect would register into a temporary server that vanishes: refuse instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "CITYIMAGE_HOME": str(tmp_path / "home"),
            "CITYIMAGE_AUTHOR_KEY": AUTHOR_KEY}
    out = subprocess.run([str(BIN / "cityimage"), "deploy"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "no Prefect API is configured" in out.stderr and "PREFECT_API_URL" in out.stderr
    assert "Traceback" not in out.stderr
