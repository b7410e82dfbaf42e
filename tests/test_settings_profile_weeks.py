"""Settings, the city profile and ISO weeks: the facts every stage relies on."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cityimage.profile import ProfileError, load_profile
from cityimage.settings import DEFAULT_PROFILE, SettingsError, load_settings, unknown_variables
from cityimage.weeks import Week, week_range


def test_settings_from_env_and_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cityimage.toml"
    config.write_text('home = "/data/city"\nreporting_timezone = "Europe/Paris"\n')
    monkeypatch.setenv("CITYIMAGE_CONFIG", str(config))
    monkeypatch.setenv("CITYIMAGE_REPORTING_TIMEZONE", "Asia/Tokyo")
    settings = load_settings()
    assert settings.reporting_timezone == "Asia/Tokyo"  # the environment wins over the file
    assert settings.warehouse == Path("/data/city/warehouse.duckdb")
    assert settings.inbox == Path("/data/city/inbox")


def test_bad_setting_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYIMAGE_REPORTING_TIMEZONE", "Mars/Olympus")
    with pytest.raises(SettingsError, match="reporting_timezone.*Mars/Olympus"):
        load_settings()


def test_unknown_setting_in_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('warehouse_paht = "x.duckdb"\n')
    monkeypatch.setenv("CITYIMAGE_CONFIG", str(config))
    with pytest.raises(SettingsError, match="warehouse_paht"):
        load_settings()


def test_an_unknown_variable_is_named_with_the_setting_it_resembles(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cityimage.cli import app

    environ = {"CITYIMAGE_INBOX": "/srv/in", "CITYIMAGE_HOME": "/srv", "CITYIMAGE_CONFIG": "x.toml",
               "CITYIMAGE_WAREHOUSE": "w.duckdb", "CITYIMAGE_ZZZ": "1", "PATH": "/bin"}
    assert unknown_variables(environ) == [
        "CITYIMAGE_INBOX is not a cityimage setting and is ignored (did you mean CITYIMAGE_INBOX_PATH?)",
        "CITYIMAGE_WAREHOUSE is not a cityimage setting and is ignored (did you mean CITYIMAGE_WAREHOUSE_PATH?)",
        "CITYIMAGE_ZZZ is not a cityimage setting and is ignored",
    ]
    result = CliRunner().invoke(app, ["status"], env={"CITYIMAGE_HOME": str(tmp_path), "CITYIMAGE_INBOX": "/srv/in"})
    assert "CITYIMAGE_INBOX is not a cityimage setting" in result.output and result.exit_code == 2  # no warehouse yet


def test_settings_are_frozen_and_read_their_profile_once(tmp_path: Path) -> None:
    """One settings object is a run's configuration: it cannot change, and its profile is the one read
    first, whatever the file says later. A copy with other values resolves them again."""
    from pydantic import ValidationError

    profile = tmp_path / "profile.yaml"
    profile.write_text(DEFAULT_PROFILE.read_text())
    settings = load_settings(profile_path=profile)
    with pytest.raises(ValidationError, match="frozen"):
        settings.home = tmp_path  # type: ignore[misc]
    assert settings.profile.city == "Chongqing"
    profile.write_text(DEFAULT_PROFILE.read_text().replace("city: Chongqing", "city: Ningbo", 1))
    assert settings.profile.city == "Chongqing" and settings.profile is settings.profile
    assert settings.model_copy().profile.city == "Ningbo"  # a copy is new settings, read anew
    hangzhou = settings.model_copy(update={"city_pack": "hangzhou", "profile_path": None})
    assert hangzhou.profile.city == "Hangzhou" and hangzhou.profile_file == hangzhou.pack.profile_path


def test_author_key_required_and_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYIMAGE_AUTHOR_KEY", "short")
    with pytest.raises(SettingsError, match="CITYIMAGE_AUTHOR_KEY"):
        load_settings().require_author_key()
    monkeypatch.setenv("CITYIMAGE_AUTHOR_KEY", "x" * 32)
    assert load_settings().require_author_key() == b"x" * 32


def test_the_key_file_in_home_serves_when_the_variable_is_unset(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # After `make demo`, `cityimage run` pseudonymises with the demo's key instead of refusing.
    monkeypatch.delenv("CITYIMAGE_AUTHOR_KEY", raising=False)
    monkeypatch.setenv("CITYIMAGE_HOME", str(tmp_path))
    with pytest.raises(SettingsError, match=r"\.author_key.*README, 'For data engineers'"):
        load_settings().require_author_key()
    (tmp_path / ".author_key").write_text("k" * 64 + "\n")
    assert load_settings().require_author_key() == b"k" * 64
    monkeypatch.setenv("CITYIMAGE_AUTHOR_KEY", "v" * 32)  # the variable wins over the file
    assert load_settings().require_author_key() == b"v" * 32


def test_default_profile_is_valid_and_complete() -> None:
    profile = load_profile(DEFAULT_PROFILE)
    roles = {a.role for a in profile.accounts}
    assert {"owned", "benchmark", "media"} <= roles
    assert "重庆" in profile.city_terms() and "Chungking" in profile.city_terms()
    assert profile.role_of("x", "@hangzhou_china", None) == "benchmark"
    assert profile.role_of("x", "someone_else", None) == "public"
    assert {k.keyword for k in profile.search_keywords} >= {"chinese investment", "chinese culture", "chinese tourism"}


def test_profile_typo_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    text = DEFAULT_PROFILE.read_text().replace("    role: owned", "    rol: owned", 1)
    bad.write_text(text)
    with pytest.raises(ProfileError, match=r"accounts\.0\.(rol|role)"):
        load_profile(bad)


def test_profile_duplicate_account_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    lines = DEFAULT_PROFILE.read_text().splitlines()
    first = next(line for line in lines if "platform: facebook" in line and "CGTN" in line)
    bad.write_text("\n".join(lines).replace(first, first + "\n" + first, 1))
    with pytest.raises(ProfileError, match="listed twice"):
        load_profile(bad)


def _with_exports(tmp_path: Path, exports: str) -> Path:
    path = tmp_path / "p.yaml"
    text = DEFAULT_PROFILE.read_text()
    old = "exports: [instagram_business_suite_posts, instagram_api_comments]"
    assert old in text
    path.write_text(text.replace(old, f"exports: {exports}", 1))
    return path


def test_expected_exports_take_a_name_or_a_cadence(tmp_path: Path) -> None:
    profile = load_profile(_with_exports(tmp_path, "[instagram_api_media, {format: instagram_api_comments, every_weeks: 4}]"))
    instagram = next(a for a in profile.accounts if a.key == "instagram:ichongqing")
    assert [(e.format, e.every_weeks) for e in instagram.exports] == [("instagram_api_media", 1), ("instagram_api_comments", 4)]


@pytest.mark.parametrize(("exports", "message"), [
    ("[instagram_posts]", r"accounts\.1\.exports\.0\.format.*unknown export format 'instagram_posts'"),
    ("[x_content]", r"x_content is a x export, not instagram"),
    ("[{format: instagram_api_media, every_weeks: 0}]", r"every_weeks"),
])
def test_expected_exports_are_checked(tmp_path: Path, exports: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(_with_exports(tmp_path, exports))


def test_week_bounds_in_shanghai() -> None:
    week = Week.parse("2026-W47")
    assert (week.monday, week.sunday) == (date(2026, 11, 16), date(2026, 11, 22))
    start, end = week.bounds_utc(ZoneInfo("Asia/Shanghai"))
    # Monday 00:00 in Shanghai is Sunday 16:00 UTC.
    assert start == datetime(2026, 11, 15, 16, tzinfo=timezone.utc)
    assert end == datetime(2026, 11, 22, 16, tzinfo=timezone.utc)
    assert Week.containing(datetime(2026, 11, 15, 17, tzinfo=timezone.utc), ZoneInfo("Asia/Shanghai")).id == "2026-W47"
    assert Week.containing(datetime(2026, 11, 15, 17, tzinfo=timezone.utc), ZoneInfo("UTC")).id == "2026-W46"


def test_week_parsing_and_ranges() -> None:
    assert Week.parse("2020-W53").monday == date(2020, 12, 28)
    with pytest.raises(ValueError, match="does not exist"):
        Week.parse("2021-W53")
    with pytest.raises(ValueError, match="YYYY-Www"):
        Week.parse("2026-47")
    weeks = week_range(Week.parse("2026-W52"), Week.parse("2027-W02"))
    assert [w.id for w in weeks] == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    with pytest.raises(ValueError, match="before it starts"):
        week_range(Week.parse("2026-W02"), Week.parse("2026-W01"))
