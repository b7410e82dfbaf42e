"""The one settings object: environment variables (``CITYIMAGE_*``) over a config file over defaults.

Everything that differs between a laptop demo and a city team's server lives here, so code never
reads ``os.environ`` itself. A bad value fails at start with the setting's name in the message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cityimage.citypack import DEFAULT_PACK, PROFILE_FILE, CityPack, CityPackError, load_pack, pack_folder
from cityimage.profile import CityProfile, load_profile

DEFAULT_PROFILE = pack_folder(DEFAULT_PACK) / PROFILE_FILE
CONFIG_FILE_ENV = "CITYIMAGE_CONFIG"


#: The largest file (or archive member) read: a whole file is held in memory while it is read.
MAX_FILE_BYTES = 256_000_000
#: New bytes read before an ingest batch is written. Parsed JSON takes about ten times its bytes: on 40
#: Facebook comment pages of the benchmark's synthetic reference inbox (194 MB, 1.8M rows), 256 MiB batches
#: peaked at 2.2 GB and 64 MiB ones at 1.0 GB, for 4 % more time.
INGEST_BATCH_BYTES = 64 * 2**20
#: From a batch this big on, a load's batches are read in reader processes (``ingest_reader_processes``):
#: starting them costs about a second, which reading 8 MB of API dumps in the writer takes.
PARALLEL_READ_BYTES = 8 * 2**20
#: Texts classified at a time: every text is classified on its own, so the outcome is the same, and
#: memory stays bounded (about 1 GB at this size) however many texts a fact build classifies.
CLASSIFY_CHUNK_ROWS = 200_000


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


class Settings(BaseSettings):
    """Where the warehouse, inbox and outputs live, and how weeks and authors are treated."""

    # Frozen: a run reads its settings once, at its edge, and passes this one object to every stage.
    model_config = SettingsConfigDict(env_prefix="CITYIMAGE_", extra="forbid", validate_default=True, frozen=True)

    home: Path = Field(default=Path("var"), description="Base folder for every default path below.")
    warehouse_path: Path | None = Field(default=None, description="DuckDB file; default <home>/warehouse.duckdb")
    inbox_path: Path | None = Field(default=None, description="Folder of dropped exports; default <home>/inbox")
    snapshot_path: Path | None = Field(default=None, description="Published Parquet; default <home>/snapshots")
    report_path: Path | None = Field(default=None, description="HTML reports; default <home>/reports")
    backup_path: Path | None = Field(default=None, description="Warehouse backups; default <home>/backups")
    backup_keep: int = Field(default=4, ge=1, description="How many warehouse backups to keep (one per weekly run)")
    city_pack: str = Field(
        default=DEFAULT_PACK,
        description="The city pack (cityimage/citypack.py): a bundled pack's key (chongqing, hangzhou) or a pack "
                    "folder's path. It supplies the profile, the city's lexicons, the zone and the report's references")
    reporting_timezone: str | None = Field(
        default=None, description="IANA zone that defines the week; default: the city pack's (Asia/Shanghai)")
    weekly_cron: str = Field(
        default="0 6 * * 1", pattern=r"^\S+(\s+\S+){4}$",
        description="When the scheduled weekly run starts: five cron fields in the reporting zone (default Monday "
                    "06:00, the week just ended)")
    profile_path: Path | None = Field(default=None, description="City profile YAML; default: the city pack's profile.yaml")
    author_key: SecretStr = Field(
        default=SecretStr(""),
        description="Secret for the keyed hash that pseudonymises public authors; never in the repository",
    )
    max_file_bytes: int = Field(
        default=MAX_FILE_BYTES, gt=0,
        description="Largest file, or archive member, read (a file is held in memory while read); a larger one is "
                    "refused by name with its size")
    max_archive_bytes: int = Field(default=512_000_000, gt=0, description="Largest unpacked zip accepted (all members)")
    max_archive_ratio: int = Field(default=200, gt=0, description="Largest unpack/packed ratio accepted")
    trust_file_stat: bool = Field(
        default=True,
        description="Skip inbox files whose path, size and modification time match a file already loaded, "
        "without reading them; false re-reads and re-hashes every file on every run",
    )
    ingest_batch_files: int = Field(default=500, gt=0, description="New files read and written per ingest transaction")
    ingest_batch_bytes: int = Field(default=INGEST_BATCH_BYTES, gt=0,
                                    description="New bytes read before an ingest transaction is written (bounds its memory)")
    ingest_reader_processes: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 4), ge=0,
        description="Processes that read a big load's files while the writer writes (default: the cores, at most 4); "
                    "0 reads in the writer alone")
    classify_chunk_rows: int = Field(default=CLASSIFY_CHUNK_ROWS, gt=0,
                                     description="Texts the fact build classifies at a time (bounds the classifiers' memory)")
    # At the reference year (5M comments) 512MB is too little: materialising the comment links while the
    # merged comments are spilled needs more pinned memory than that ("failed to pin block").
    duckdb_memory_limit: str = Field(
        default="1GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's share of memory while it builds the facts and runs the quality gates; beyond it, it spills "
                    "beside the warehouse")
    # Measured on the reference-year warehouse of the benchmark: reading a week's facts into frames peaks
    # at 1.46 GB unbounded and 1.00 GB at 256MB, in the same time; the frames are 0.33 GB of that.
    duckdb_read_memory_limit: str = Field(
        default="256MB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's share of memory while the KPIs read the facts into frames: it bounds the cache of "
                    "scanned blocks, which the frames do not need")
    # Measured on the comment pages of the benchmark's reference year (208 files, 9.4M rows) read with two
    # reader processes: unbounded, DuckDB kept 0.55 GB of the blocks it wrote, and the ingest peaked at
    # 2.4 GB over its processes; at 256MB, 1.85 GB, in the same time.
    duckdb_ingest_memory_limit: str = Field(
        default="256MB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's share of memory while the ingest appends rows: it bounds the cache of written blocks, "
                    "which the ingest does not read again")
    follow_inbox_links: bool = Field(
        default=False,
        description="Read the files that symbolic links in the inbox point to, and walk linked folders; by default a "
                    "link is refused by name and never followed")
    reader_wait_s: float = Field(
        default=120.0, ge=0,
        description="How long a stage waits for a reading process (cityimage sql, a notebook) to close the warehouse "
                    "before the run refuses (exit 3)")
    retry_wait_s: float = Field(
        default=10.0, ge=0,
        description="How long a flow run (weekly or backfill) waits before it tries again a stage that failed on "
                    "input/output (the inbox share or the object store gone for a moment); two tries again at most")
    snapshot_url: str | None = Field(
        default=None,
        description="Where snapshots are published, as a URL: file:///srv/snapshots or a plain path; overrides "
        "snapshot_path. Object stores (s3://, gs://, az://) are configuration only here (docs/deployment.md)",
    )
    snapshot_mirror_url: str | None = Field(
        default=None,
        description="Object storage each published week is also copied to (publish/mirror.py), e.g. "
        "s3://bucket/cityimage?endpoint_override=s3.internal:9000; credentials from the AWS_* variables")
    prefect_work_pool: str = Field(default="cityimage-process", description="Process work pool of the deployments")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    _pack: CityPack = PrivateAttr()
    _profile: CityProfile | None = PrivateAttr(default=None)

    @field_validator("reporting_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            _check_zone(value)
        return value

    @field_validator("city_pack")
    @classmethod
    def _readable_pack(cls, value: str) -> str:
        try:
            _check_zone(load_pack(value).timezone)
        except CityPackError as exc:
            raise ValueError(str(exc)) from None
        except ValueError as exc:
            raise ValueError(f"the pack's city.yaml: timezone: {exc}") from None
        return value

    @model_validator(mode="after")
    def _from_city_pack(self) -> "Settings":
        """What the settings leave unset comes from the city pack."""
        self._pack = load_pack(self.city_pack)
        if self.reporting_timezone is None:
            self.__dict__["reporting_timezone"] = self._pack.timezone  # frozen: filled once, here
        if self.profile_path is None:
            self.__dict__["profile_path"] = self._pack.profile_path
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> "Settings":
        """A copy with ``update`` applied, validated and resolved like any settings: a copy never carries
        the pack or profile read for other values."""
        return type(self)(**(self.model_dump(exclude_unset=True) | dict(update or {})))

    @property
    def profile(self) -> CityProfile:
        """The city profile, read once per settings object: every stage of a run sees the same accounts,
        even if the file is edited while the run goes on."""
        if self._profile is None:
            self._profile = load_profile(self.profile_file)
        return self._profile

    @property
    def pack(self) -> CityPack:
        return self._pack

    @property
    def lexicon_dir(self) -> Path:
        """The lexicons the city is classified with: its pack's, over the package's universal ones."""
        return self._pack.lexicon_dir

    @field_validator("warehouse_path")
    @classmethod
    def _local_warehouse(cls, value: Path | None) -> Path | None:
        """A shared catalog (MotherDuck, DuckLake) needs extensions DuckDB downloads at run time."""
        text = str(value or "")
        if text.startswith(("md:", "motherduck:", "ducklake:")):
            raise ValueError(
                f"{text.split(':', 1)[0]}: catalogs need DuckDB extensions that are downloaded at run time and are "
                "not available on this machine (only icu, json and parquet are built in); use a local DuckDB file, "
                "or see docs/deployment.md, 'A shared catalog'"
            )
        return value

    @field_validator("snapshot_mirror_url")
    @classmethod
    def _object_store_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("s3://", "gs://", "abfs://")):
            raise ValueError("expected an object store URL (s3://bucket/prefix, gs://…, abfs://…)")
        return value

    @field_validator("snapshot_url")
    @classmethod
    def _reachable_snapshot_url(cls, value: str | None) -> str | None:
        """Fail at start, not at publish time, for a store this machine cannot write to."""
        if value is None or snapshot_url_path(value) is not None:
            return value
        scheme = value.split("://", 1)[0].lower()
        raise ValueError(
            f"{scheme}:// cannot be the snapshot folder: the reports and the analyst session read snapshots from "
            "a local path or file:// URL. Keep one, and set snapshot_mirror_url to copy each week to "
            "object storage (docs/deployment.md, 'Snapshots on object storage')"
        )

    @field_validator("profile_path")
    @classmethod
    def _profile_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no city profile at {value}")
        return value

    def _under_home(self, value: Path | None, name: str) -> Path:
        return value if value is not None else self.home / name

    @property
    def warehouse(self) -> Path:
        return self._under_home(self.warehouse_path, "warehouse.duckdb")

    @property
    def inbox(self) -> Path:
        return self._under_home(self.inbox_path, "inbox")

    @property
    def snapshots(self) -> Path:
        if self.snapshot_url:
            return snapshot_url_path(self.snapshot_url) or self.home / "snapshots"
        return self._under_home(self.snapshot_path, "snapshots")

    @property
    def reports(self) -> Path:
        return self._under_home(self.report_path, "reports")

    @property
    def backups(self) -> Path:
        return self._under_home(self.backup_path, "backups")

    @property
    def profile_file(self) -> Path:
        """The city profile: the one set, else the pack's (which validation fills ``profile_path`` with)."""
        return self.profile_path or self._pack.profile_path

    @property
    def zone(self) -> ZoneInfo:
        """The zone that cuts weeks: the one set, else the pack's (as for ``profile_file``)."""
        return ZoneInfo(self.reporting_timezone or self._pack.timezone)

    @property
    def author_key_file(self) -> Path:
        """Where the key is read from when ``CITYIMAGE_AUTHOR_KEY`` is not set (``cityimage demo`` writes it)."""
        return self.home / ".author_key"

    def require_author_key(self) -> bytes:
        """The pseudonymisation key; refusing to run without one keeps raw ids out by construction.

        ``CITYIMAGE_AUTHOR_KEY`` wins; else ``<home>/.author_key``, so the commands after ``make demo``
        pseudonymise with the demo's key instead of refusing (or, worse, splitting authors in two).
        """
        key = self.author_key.get_secret_value()
        if not key and self.author_key_file.is_file():
            key = self.author_key_file.read_text(encoding="utf-8").strip()
        if len(key) < 16:
            raise SettingsError(
                "CITYIMAGE_AUTHOR_KEY must be set (or written to "
                f"{self.author_key_file}) to a secret of at least 16 characters: it keys the hash that "
                "replaces public authors' ids and names (see README, 'For data engineers')."
            )
        return key.encode()


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from exc
    return value


def snapshot_url_path(url: str) -> Path | None:
    """The local folder a snapshot URL names (``file://`` or a plain path), or None for a remote store."""
    from urllib.parse import unquote, urlparse

    if "://" not in url:
        return Path(url)
    parsed = urlparse(url)
    if parsed.scheme.lower() == "file" and parsed.netloc in ("", "localhost"):
        return Path(unquote(parsed.path))
    return None


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Reads ``cityimage.toml`` (or the file named by ``CITYIMAGE_CONFIG``): flat ``key = value`` pairs."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._values()

    def _values(self) -> dict[str, Any]:
        import tomllib

        path = Path(os.environ.get(CONFIG_FILE_ENV, "cityimage.toml"))
        if not path.is_file():
            if CONFIG_FILE_ENV in os.environ:
                raise SettingsError(f"{CONFIG_FILE_ENV} names {path}, which does not exist")
            return {}
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc


#: ``CITYIMAGE_*`` variables read outside the settings object: the config file's name, the analyst
#: prompt's history, the checkout path of deploy/prefect.yaml, and the benchmark's scratch home.
#: Set by a supervised run (``cityimage.supervise``) in its child: the process to signal to stop the
#: run, which the writer lock names as its holder.
RUN_PID_ENV = "CITYIMAGE_RUN_PID"
OTHER_VARIABLES = frozenset({CONFIG_FILE_ENV, "CITYIMAGE_HISTORY_FILE", "CITYIMAGE_PROJECT_DIR", "CITYIMAGE_BENCH_HOME",
                             RUN_PID_ENV})


def run_pid() -> int:
    """The process that stands for this run: its supervisor when supervised, else this process."""
    return int(os.environ.get(RUN_PID_ENV) or os.getpid())


def unknown_variables(environ: dict[str, str] | None = None) -> list[str]:
    """``CITYIMAGE_*`` variables that no setting reads, each with the setting it most resembles.

    pydantic-settings ignores them, so a typo (``CITYIMAGE_INBOX`` for ``CITYIMAGE_INBOX_PATH``) would
    silently leave the default in place: the caller warns instead.
    """
    import difflib

    environ = dict(os.environ if environ is None else environ)
    known = {f"CITYIMAGE_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    lines = []
    for name in sorted(n for n in environ if n.startswith("CITYIMAGE_") and n not in known):
        suffixes = {k.removeprefix("CITYIMAGE_"): k for k in known}  # the shared prefix would make all alike
        close = difflib.get_close_matches(name.removeprefix("CITYIMAGE_"), sorted(suffixes), n=1, cutoff=0.6)
        hint = f" (did you mean {suffixes[close[0]]}?)" if close else ""
        lines.append(f"{name} is not a cityimage setting and is ignored{hint}")
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's error into one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            env = f"CITYIMAGE_{name.upper()}"
            lines.append(f"setting {name} ({env}): {error['msg']}")
        raise SettingsError("; ".join(lines)) from None

