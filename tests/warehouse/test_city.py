"""One warehouse and one snapshot folder per city: another city's profile is refused before it can
change a row or a published file, with the way out. Real DuckDB files, the sample inbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE
from cityimage.sample import default_weeks, write_sample_inbox
from flows import stages
from publish.snapshot import SnapshotCityMismatch, publish_week
from tests.resilience.digest import snapshot_bytes, warehouse_digest
from tests.resilience.hostile import Lab
from warehouse.city import CityMismatch

WEEK = default_weeks()[-1]


def _other_city(tmp_path: Path, name: str = "Hangzhou") -> Path:
    text = DEFAULT_PROFILE.read_text(encoding="utf-8").replace("city: Chongqing", f"city: {name}", 1)
    path = tmp_path / f"{name.lower()}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_city_key_is_the_name_in_lower_case_words_joined() -> None:
    profile = load_profile(DEFAULT_PROFILE)
    assert profile.key == "chongqing"
    assert profile.model_copy(update={"city": "Hong Kong SAR"}).key == "hong-kong-sar"
    assert profile.model_copy(update={"city": "重庆"}).key == "重庆"


def test_another_citys_profile_is_refused_by_every_stage_and_changes_nothing(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "home")
    write_sample_inbox(lab.settings.inbox, [WEEK], scale=0.3)
    stages.ingest(lab.settings)
    stages.build_facts(lab.settings)
    stages.compute_kpis(lab.settings, WEEK)
    stages.publish(lab.settings, WEEK)
    assert lab.query("SELECT city_key, city FROM ops_city") == [("chongqing", "Chongqing")]
    before, published = warehouse_digest(lab.warehouse), snapshot_bytes(lab.settings.snapshots)

    other = lab.settings.model_copy(update={"profile_path": _other_city(tmp_path)})
    for stage in (lambda: stages.ingest(other), lambda: stages.build_facts(other, full=True),
                  lambda: stages.compute_kpis(other, WEEK, force=True), lambda: stages.publish(other, WEEK)):
        with pytest.raises(CityMismatch, match="holds Chongqing's data .* the city profile is Hangzhou's"):
            stage()
    assert warehouse_digest(lab.warehouse) == before
    assert snapshot_bytes(lab.settings.snapshots) == published


def test_a_snapshot_folder_of_another_city_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    import polars as pl

    root = tmp_path / "snapshots"
    frames = {"kpi_weekly": pl.DataFrame({"week_id": [WEEK.id], "value": [1.0]})}
    publish_week(root, "2026-W01", frames, {"inputs": []})  # a folder from before cities were named: adopted
    publish_week(root, "2026-W02", frames, {"city": {"key": "chongqing", "name": "Chongqing"}})
    with pytest.raises(SnapshotCityMismatch, match="holds Chongqing's weeks and this run publishes Hangzhou's"):
        publish_week(root, "2026-W03", frames, {"city": {"key": "hangzhou", "name": "Hangzhou"}})
    assert not (root / "manifests" / "week=2026-W03.json").exists()
    assert not (root / "kpi_weekly" / "week=2026-W03").exists()


def _loaded_for_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: Path) -> Lab:
    """A warehouse with a small sample loaded under the bundled profile; the commands then read ``profile``."""
    lab = Lab(tmp_path / "home")
    write_sample_inbox(lab.settings.inbox, [WEEK], scale=0.2)
    stages.ingest(lab.settings)
    monkeypatch.setenv("CITYIMAGE_HOME", str(lab.home))
    monkeypatch.setenv("CITYIMAGE_AUTHOR_KEY", lab.settings.author_key.get_secret_value())
    monkeypatch.setenv("CITYIMAGE_PROFILE_PATH", str(profile))
    return lab


def test_the_command_line_exits_2_naming_both_cities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from cityimage.cli import exit_code

    _loaded_for_the_command_line(tmp_path, monkeypatch, _other_city(tmp_path))
    assert exit_code(["build-facts"]) == 2
    err = capsys.readouterr().err
    assert "Chongqing" in err and "Hangzhou" in err and "CITYIMAGE_HOME" in err


def _edited_profile(tmp_path: Path, old: str, new: str, name: str = "edited") -> Path:
    text = DEFAULT_PROFILE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


OWNED_FACEBOOK = ('    handle: iChongqing\n    id: "100064548282347"\n    role: owned\n')


def test_a_profile_that_changes_or_drops_a_held_account_is_refused_until_accepted(tmp_path: Path) -> None:
    from warehouse.city import ProfileContradiction, accept_profile
    from warehouse.connection import open_writer

    lab = Lab(tmp_path / "home")
    write_sample_inbox(lab.settings.inbox, [WEEK], scale=0.2)
    stages.ingest(lab.settings)
    stages.build_facts(lab.settings)
    assert ("facebook:ichongqing", "owned") in lab.query("SELECT account_key, role FROM ops_registered_account")
    before = warehouse_digest(lab.warehouse)

    demoted = _edited_profile(tmp_path, OWNED_FACEBOOK, OWNED_FACEBOOK.replace("owned", "benchmark"))
    dropped = _edited_profile(tmp_path, "  - {platform: x,         handle: XHNews,          id: null,               role: media,     city: null}\n", "", "dropped")
    for path, words in ((demoted, "facebook:ichongqing: role owned → benchmark"),
                        (dropped, "x:xhnews (media) is no longer in the profile")):
        other = lab.settings.model_copy(update={"profile_path": path})
        with pytest.raises(ProfileContradiction) as info:
            stages.build_facts(other, full=True)
        assert words in str(info.value) and "cityimage accept-profile" in str(info.value)
    assert warehouse_digest(lab.warehouse) == before  # refused before a row changed

    other = lab.settings.model_copy(update={"profile_path": demoted})
    with open_writer(lab.warehouse, "test") as con:
        assert accept_profile(con, load_profile(demoted)) == ["facebook:ichongqing: role owned → benchmark"]
    result = stages.build_facts(other)
    assert result.figures["mode"] == "full"  # the registered accounts changed: every fact under the new roles
    assert lab.query("SELECT DISTINCT role FROM fct_post WHERE account_key = 'facebook:ichongqing'") == [("benchmark",)]


def test_a_profile_that_adds_an_account_is_recorded_not_refused(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "home")
    write_sample_inbox(lab.settings.inbox, [WEEK], scale=0.2)
    stages.ingest(lab.settings)
    added = _edited_profile(tmp_path, "search_keywords:\n",
                            "  - {platform: x, handle: NingboCity, id: \"42\", role: benchmark, city: Ningbo}\n"
                            "search_keywords:\n")
    stages.build_facts(lab.settings.model_copy(update={"profile_path": added}))
    assert ("x:ningbocity", "benchmark") in lab.query("SELECT account_key, role FROM ops_registered_account")


def test_accept_profile_on_the_command_line_says_what_it_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from cityimage.cli import exit_code

    _loaded_for_the_command_line(tmp_path, monkeypatch,
                                 _edited_profile(tmp_path, OWNED_FACEBOOK, OWNED_FACEBOOK.replace("owned", "media")))
    assert exit_code(["build-facts"]) == 2
    assert "role owned → media" in capsys.readouterr().err
    assert exit_code(["status"]) == 0
    assert "the profile contradicts them: facebook:ichongqing: role owned → media" in " ".join(capsys.readouterr().out.split())
    assert exit_code(["accept-profile"]) == 0
    assert "facebook:ichongqing: role owned → media" in capsys.readouterr().out
    assert exit_code(["accept-profile"]) == 0
    assert "nothing to record" in capsys.readouterr().out
    assert exit_code(["status"]) == 0
    shown = capsys.readouterr().out
    assert "city: Chongqing (chongqing)" in shown and "contradicts" not in shown
    assert exit_code(["build-facts"]) == 0
