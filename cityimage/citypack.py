"""A city pack: everything that makes the observatory one city's, in one folder chosen by one setting.

A pack folder holds:

* ``city.yaml``: the reporting time zone (which cuts weeks and times the schedule), the report's
  reference live (to compare the week's lives with, when the city has one), its words before the
  report's sections (``report_context``: what a study of the city found there) and the names its
  labels go by in the report (``label_names``; a label without one is shown as its key in words);
* ``profile.yaml``: the city's names, hashtags and accounts (:mod:`cityimage.profile`);
* ``lexicons/``: the city's own lexicons, the gazetteer (its places and their Lynch elements) and the
  labels (its nicknames). ``themes.city.yaml`` and ``acts.city.yaml`` add the city's words (its
  heritage, "going to <city>") to the package's themes and acts without copying them; a file named
  like a package lexicon replaces it whole;
* ``evaluation/labelled_posts.csv`` (optional): the city's posts labelled by hand with their themes,
  labels and Lynch elements, on which the post classifiers are measured (``transforms.evaluate``).

The packs bundled with the package live in ``cityimage/cities/<key>/``; ``CITYIMAGE_CITY_PACK`` names
one by its key or gives the path of any folder laid out the same way. Adding a city is adding a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BUNDLED = Path(__file__).parent / "cities"
DEFAULT_PACK = "chongqing"
#: A pack's layout: its own settings, its profile, its lexicons, its labelled posts.
CITY_FILE, PROFILE_FILE, LEXICON_FOLDER = "city.yaml", "profile.yaml", "lexicons"
LABELLED_POSTS = "evaluation/labelled_posts.csv"
#: Lexicon files that describe one city: a pack must carry them (the others are the package's).
CITY_LEXICONS = ("gazetteer.yaml", "labels.yaml")
_CITY_KEYS = {"version", "timezone", "livestream_reference", "report_context", "label_names"}
_REFERENCE_KEYS = {"label", "intro", "views", "likes", "comments"}


class CityPackError(ValueError):
    """A city pack is missing or malformed; the message names the folder or file and the entry."""


@dataclass(frozen=True)
class LiveReference:
    """A livestream the week's lives are compared with (the study's best, for Chongqing)."""

    label: str
    intro: str
    views: float
    likes: float
    comments: float

    @property
    def engagements_per_view(self) -> float:
        return (self.likes + self.comments) / self.views

    @property
    def comments_per_thousand_views(self) -> float:
        return self.comments / self.views * 1000


@dataclass(frozen=True)
class CityPack:
    folder: Path
    timezone: str
    livestream_reference: LiveReference | None
    report_context: dict[str, str]
    label_names: dict[str, str]

    @property
    def profile_path(self) -> Path:
        return self.folder / PROFILE_FILE

    @property
    def lexicon_dir(self) -> Path:
        return self.folder / LEXICON_FOLDER

    @property
    def labelled_posts(self) -> Path | None:
        """The city's labelled posts, if the pack has any."""
        path = self.folder / LABELLED_POSTS
        return path if path.is_file() else None


def pack_folder(spec: str) -> Path:
    """The folder a ``CITYIMAGE_CITY_PACK`` value names: a bundled pack's key, or a path."""
    bundled = BUNDLED / spec
    if "/" not in spec and "\\" not in spec and bundled.is_dir():
        return bundled
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        known = ", ".join(sorted(p.name for p in BUNDLED.iterdir() if (p / CITY_FILE).is_file()))
        raise CityPackError(f"no city pack {spec!r}: neither a bundled pack ({known}) nor a folder")
    return folder


def load_pack(spec: str = DEFAULT_PACK) -> CityPack:
    """Read and check the pack ``spec`` names; every missing file or unknown key is an error naming it."""
    folder = pack_folder(spec)
    for required in (CITY_FILE, PROFILE_FILE, *(f"{LEXICON_FOLDER}/{n}" for n in CITY_LEXICONS)):
        if not (folder / required).is_file():
            raise CityPackError(f"city pack {folder}: {required} is missing")
    path = folder / CITY_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    _known(path, "top level", data, _CITY_KEYS)
    if not isinstance(data.get("timezone"), str):
        raise CityPackError(f"{path}: timezone: expected an IANA zone name such as Asia/Shanghai")
    reference = data.get("livestream_reference")
    return CityPack(folder=folder, timezone=data["timezone"],
                    livestream_reference=_reference(path, reference) if reference is not None else None,
                    report_context=_texts(path, "report_context", data, "section anchors"),
                    label_names=_texts(path, "label_names", data, "label keys"))


def _texts(path: Path, key: str, data: dict[str, Any], what: str) -> dict[str, str]:
    texts = data.get(key) or {}
    if not isinstance(texts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in texts.items()):
        raise CityPackError(f"{path}: {key}: expected {what}, each with a text")
    return texts


def _reference(path: Path, data: Any) -> LiveReference:
    _known(path, "livestream_reference", data, _REFERENCE_KEYS)
    missing = sorted(_REFERENCE_KEYS - set(data))
    if missing:
        raise CityPackError(f"{path}: livestream_reference: {', '.join(missing)} missing")
    for key in ("views", "likes", "comments"):
        if not isinstance(data[key], (int, float)) or isinstance(data[key], bool) or data[key] < 0:
            raise CityPackError(f"{path}: livestream_reference.{key}: expected a count, got {data[key]!r}")
    if not data["views"]:
        raise CityPackError(f"{path}: livestream_reference.views: must be above 0")
    return LiveReference(label=str(data["label"]), intro=str(data["intro"]), views=float(data["views"]),
                         likes=float(data["likes"]), comments=float(data["comments"]))


def _known(path: Path, where: str, data: Any, keys: set[str]) -> None:
    if not isinstance(data, dict):
        raise CityPackError(f"{path}: {where}: expected a mapping")
    unknown = sorted(set(data) - keys)
    if unknown:
        raise CityPackError(f"{path}: {where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")
