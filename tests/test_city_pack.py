"""City packs: a city is a folder (profile, city lexicons, zone, report words), chosen by one setting.

The unit tests load the bundled packs and broken copies; the end-to-end test runs the real
``cityimage demo`` for Hangzhou, a city that needs no code of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cityimage.citypack import BUNDLED, CityPackError, load_pack
from cityimage.profile import load_profile
from cityimage.settings import SettingsError, load_settings
from publish.report import SECTION_ANCHORS
from transforms.classify import classify_posts, load_lexicons

AUTHOR_KEY = "city-pack-test-key-0123456789abcdef"


def _posts(*texts: str) -> pl.DataFrame:
    return pl.DataFrame({"post_id": [str(i) for i in range(len(texts))], "platform": ["x"] * len(texts),
                         "title": [None] * len(texts), "text": list(texts), "language_raw": ["en"] * len(texts)})


@pytest.mark.parametrize("key", ["chongqing", "hangzhou"])
def test_every_bundled_pack_loads_with_its_lexicons_and_known_sections(key: str) -> None:
    pack = load_pack(key)
    profile = load_profile(pack.profile_path)
    assert profile.key == key and pack.folder == BUNDLED / key
    assert load_lexicons(pack.lexicon_dir).place_elements.height  # the city's own gazetteer compiles
    assert set(pack.report_context) <= set(SECTION_ANCHORS)


def test_a_city_is_classified_with_its_own_places_labels_and_names(monkeypatch) -> None:
    text = ("Sunset over West Lake and Leifeng Pagoda, truly paradise on earth",
            "Hotpot under Hongyadong in the mountain city of Chongqing")
    results = {}
    for key in ("hangzhou", "chongqing"):
        monkeypatch.setenv("CITYIMAGE_CITY_PACK", key)
        settings = load_settings(author_key=AUTHOR_KEY)
        profile = load_profile(settings.profile_path)
        out = classify_posts(_posts(*text), load_lexicons(settings.lexicon_dir), list(profile.city_terms()))
        results[key] = out.select("places", "labels", "is_city_mention").to_dicts()
    hangzhou, chongqing = results["hangzhou"], results["chongqing"]
    assert hangzhou[0] == {"places": ["leifeng_pagoda", "west_lake"], "labels": ["paradise_on_earth"],
                           "is_city_mention": True}
    assert hangzhou[1]["places"] == [] and hangzhou[1]["labels"] == [] and not hangzhou[1]["is_city_mention"]
    assert chongqing[0]["places"] == [] and chongqing[0]["labels"] == [] and not chongqing[0]["is_city_mention"]
    assert "hongyadong" in chongqing[1]["places"] and "mountain_city" in chongqing[1]["labels"]


def test_the_pack_supplies_profile_zone_and_reference_unless_a_setting_says_otherwise(monkeypatch) -> None:
    monkeypatch.setenv("CITYIMAGE_CITY_PACK", "hangzhou")
    settings = load_settings(author_key=AUTHOR_KEY)
    assert settings.profile_path == BUNDLED / "hangzhou" / "profile.yaml"
    assert settings.reporting_timezone == "Asia/Shanghai" and settings.pack.livestream_reference is None
    monkeypatch.setenv("CITYIMAGE_REPORTING_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("CITYIMAGE_PROFILE_PATH", str(BUNDLED / "chongqing" / "profile.yaml"))
    settings = load_settings(author_key=AUTHOR_KEY)
    assert settings.reporting_timezone == "Europe/Paris"
    assert settings.profile_path == BUNDLED / "chongqing" / "profile.yaml"
    assert load_pack().livestream_reference.views == 954_000


def test_a_new_city_is_a_folder_named_by_its_path(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "packs" / "ningbo"
    shutil.copytree(BUNDLED / "hangzhou", folder)
    profile = folder / "profile.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("city: Hangzhou\n", "city: Ningbo\n", 1),
                       encoding="utf-8")
    city = folder / "city.yaml"
    city.write_text(city.read_text(encoding="utf-8").replace("Asia/Shanghai", "Asia/Hong_Kong")
                    + "report_context:\n  search: Ningbo's own words.\n", encoding="utf-8")
    monkeypatch.setenv("CITYIMAGE_CITY_PACK", str(folder))
    settings = load_settings(author_key=AUTHOR_KEY)
    assert load_profile(settings.profile_path).key == "ningbo"
    assert settings.reporting_timezone == "Asia/Hong_Kong" and settings.lexicon_dir == folder / "lexicons"
    assert settings.pack.report_context == {"search": "Ningbo's own words."}


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: (f / "lexicons" / "labels.yaml").unlink(), "lexicons/labels.yaml is missing"),
    (lambda f: (f / "profile.yaml").unlink(), "profile.yaml is missing"),
    (lambda f: (f / "city.yaml").write_text("version: 1\ntimezone: Asia/Shanghai\ncolour: red\n"),
     "city.yaml: top level: unknown key 'colour'"),
    (lambda f: (f / "city.yaml").write_text("version: 1\ntimezone: Mars/Olympus\n"), "unknown time zone 'Mars/Olympus'"),
    (lambda f: (f / "city.yaml").write_text(
        "version: 1\ntimezone: Asia/Shanghai\nlivestream_reference: {label: a, intro: b, views: 0, likes: 1, comments: 1}\n"),
     "livestream_reference.views: must be above 0"),
    (lambda f: (f / "city.yaml").write_text("version: 1\ntimezone: Asia/Shanghai\nreport_context: [a]\n"),
     "report_context: expected section anchors"),
])
def test_a_broken_pack_is_refused_at_start_naming_the_setting_and_the_file(tmp_path: Path, monkeypatch, change,
                                                                           message: str) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(BUNDLED / "hangzhou", folder)
    change(folder)
    monkeypatch.setenv("CITYIMAGE_CITY_PACK", str(folder))
    with pytest.raises(SettingsError) as info:
        load_settings(author_key=AUTHOR_KEY)
    assert "CITYIMAGE_CITY_PACK" in str(info.value) and message in str(info.value)


def test_an_unknown_pack_lists_the_bundled_ones(monkeypatch) -> None:
    monkeypatch.setenv("CITYIMAGE_CITY_PACK", "atlantis")
    with pytest.raises(SettingsError, match=r"no city pack 'atlantis'.*chongqing, hangzhou"):
        load_settings(author_key=AUTHOR_KEY)
    with pytest.raises(CityPackError):
        load_pack("atlantis")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_hangzhou_runs_end_to_end_as_its_own_city(tmp_path: Path) -> None:
    """The real ``cityimage demo`` with ``CITYIMAGE_CITY_PACK=hangzhou``: the sample's accounts are the
    pack's (its texts stay the bundled ones, which speak of Chongqing)."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYIMAGE_", "PREFECT_API"))}
    env |= {"CITYIMAGE_AUTHOR_KEY": AUTHOR_KEY, "CITYIMAGE_CITY_PACK": "hangzhou",
            "PREFECT_HOME": str(tmp_path / "prefect")}
    out = subprocess.run([sys.executable, "-m", "cityimage", "demo", "--home", str(home)], env=env,
                         capture_output=True, text=True, timeout=550)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]

    manifests = sorted((home / "snapshots" / "manifests").glob("week=*.json"))
    manifest = json.loads(manifests[-1].read_text(encoding="utf-8"))
    assert manifest["city"] == {"key": "hangzhou", "name": "Hangzhou"}
    assert manifest["lexicon_version"] == load_lexicons(load_pack("hangzhou").lexicon_dir).version
    assert manifest["lexicon_version"] != load_lexicons(load_pack("chongqing").lexicon_dir).version
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        owned = {r[0] for r in con.execute("SELECT DISTINCT account_key FROM fct_post WHERE role = 'owned'").fetchall()}
        places = {r[0] for r in con.execute("SELECT DISTINCT unnest(places) FROM fct_post").fetchall()}
    assert owned and all("hangzhou" in key for key in owned), owned
    assert places <= set(load_lexicons(load_pack("hangzhou").lexicon_dir).place_elements["cls"]), places  # never Chongqing's
    page = (home / "reports" / f"{manifests[-1].stem.split('=')[1]}.html").read_text(encoding="utf-8")
    assert "Hangzhou" in page and "said the study" not in page and 'class="ref"' not in page
