"""Published weeks copied to a real S3-compatible store (``rclone serve s3`` on 127.0.0.1), read back
byte for byte through pyarrow; a store that is down fails the copy clearly and leaves the week published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from cityimage.sample import default_weeks, write_sample_inbox
from flows import stages
from publish.mirror import MirrorError, mirror_week
from tests.resilience.hostile import Lab
from tests.servers import S3Store, s3_server

WEEK = default_weeks()[-1]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """The sample's last week loaded, built and published in a home of its own."""
    lab = Lab(tmp_path_factory.mktemp("mirror"))
    write_sample_inbox(lab.settings.inbox, [WEEK], scale=0.3)
    stages.ingest(lab.settings)
    stages.build_facts(lab.settings)
    stages.compute_kpis(lab.settings, WEEK)
    stages.publish(lab.settings, WEEK)
    return lab


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    try:
        with s3_server() as server:
            for name, value in server.env.items():
                monkeypatch.setenv(name, value)
            yield server
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def _read_back(store: S3Store, key: str) -> bytes:
    import pyarrow.fs

    filesystem, _ = pyarrow.fs.FileSystem.from_uri(store.url)
    with filesystem.open_input_stream(key) as stream:
        return stream.read()


def test_a_published_week_is_copied_whole_with_its_manifest_last(published: Lab, store: S3Store) -> None:
    settings = published.settings.model_copy(update={"snapshot_mirror_url": store.url})
    result = stages.mirror(settings, WEEK)
    root = published.settings.snapshots
    manifest = json.loads((root / "manifests" / f"week={WEEK.id}.json").read_text(encoding="utf-8"))
    expected = [f["path"] for f in manifest["files"]] + [f"manifests/week={WEEK.id}.json"]
    written = mirror_week(root, WEEK.id, store.url)  # again: the same objects, the same bytes
    assert result.figures["objects"] == len(expected) == len(written)
    assert [key.split("snapshots/city=chongqing/", 1)[1] for key in written] == expected  # the manifest last
    for key, relative in zip(written, expected):
        assert _read_back(store, key) == (root / relative).read_bytes(), relative
    # On the server's disk, in the layout analysts know.
    city = store.root / "observatory" / "snapshots" / "city=chongqing"  # a network store holds cities side by side
    assert (city / "kpi_weekly" / f"week={WEEK.id}" / "kpi_weekly.parquet").is_file()
    # An analyst elsewhere reads the store as a hive-partitioned dataset: city and week become columns.
    import pyarrow.dataset as ds
    import pyarrow.fs
    import pyarrow.parquet as pq

    filesystem, base = pyarrow.fs.FileSystem.from_uri(store.url)
    table = ds.dataset(f"{base}/city=chongqing/kpi_weekly", filesystem=filesystem, format="parquet",
                       partitioning="hive").to_table()
    local = pq.read_table(root / "kpi_weekly" / f"week={WEEK.id}" / "kpi_weekly.parquet")
    assert table.num_rows == local.num_rows > 0 and set(table.column("week").to_pylist()) == {WEEK.id}


def test_a_store_that_is_down_fails_the_copy_by_name_and_the_week_stays_published(published: Lab, store: S3Store) -> None:
    root = published.settings.snapshots
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    closed = store.url.replace(store.url.split("endpoint_override=")[1].split("&")[0], "127.0.0.1:9")
    with pytest.raises(MirrorError) as failure:
        mirror_week(root, WEEK.id, closed)
    message = str(failure.value)
    assert f"copying week {WEEK.id} to s3://observatory/snapshots failed at" in message
    assert "stays published" in message and "endpoint_override" not in message
    assert isinstance(failure.value.__cause__, OSError)  # what the flow's retry looks at
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_an_unpublished_week_is_refused_and_the_setting_takes_object_stores_only(published: Lab) -> None:
    from cityimage.settings import SettingsError, load_settings

    with pytest.raises(MirrorError, match="is not published"):
        mirror_week(published.settings.snapshots, "2001-W01", "s3://observatory/snapshots")
    with pytest.raises(SettingsError, match="snapshot_mirror_url"):
        load_settings(author_key="k" * 32, snapshot_mirror_url="/srv/elsewhere")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_weekly_run_copies_the_week_and_exits_9_when_the_store_is_down(published: Lab, store: S3Store,
                                                                        tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    home = tmp_path / "home"
    shutil.copytree(published.home, home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYIMAGE_", "PREFECT_API"))}
    env |= store.env | {"CITYIMAGE_HOME": str(home), "CITYIMAGE_AUTHOR_KEY": published.settings.author_key.get_secret_value(),
                        "PREFECT_HOME": str(tmp_path / "prefect"), "CITYIMAGE_SNAPSHOT_MIRROR_URL": store.url,
                        "CITYIMAGE_RETRY_WAIT_S": "1"}  # the store stays down: the run waits out both retries
    cli = [sys.executable, "-m", "cityimage", "run", "--week", WEEK.id, "--no-ingest"]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    copied = store.root / "observatory" / "snapshots" / "city=chongqing" / "manifests" / f"week={WEEK.id}.json"
    assert copied.read_bytes() == (home / "snapshots" / "manifests" / f"week={WEEK.id}.json").read_bytes()

    closed = store.url.replace(store.url.split("endpoint_override=")[1].split("&")[0], "127.0.0.1:9")
    down = subprocess.run(cli, env=env | {"CITYIMAGE_SNAPSHOT_MIRROR_URL": closed}, capture_output=True, text=True,
                          timeout=300)
    assert down.returncode == 9, down.stdout[-3000:] + down.stderr[-3000:]
    assert "not copied to object storage" in down.stderr and "stays published" in down.stderr
    assert "Retry 2/2 will start 1.0 second(s) from now" in down.stdout + down.stderr  # CITYIMAGE_RETRY_WAIT_S
    status, message = Lab(home).query("SELECT status, message FROM ops_run ORDER BY started_at DESC LIMIT 1")[0]
    assert status == "published" and "not copied to object storage" in message
