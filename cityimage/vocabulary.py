"""The product's shared vocabularies (``cityimage/vocabulary.yaml``), as tuples.

One list per kind of value: the platforms, roles, post formats, themes, Lynch elements, sentiments,
search types and KPI units that the readers write, the classifiers produce, the KPIs count, the
quality checks allow and the report orders. Kept as data so a list is edited in one place and every
module that enumerates it moves with it.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml


def _load() -> dict[str, Any]:
    document = yaml.safe_load(resources.files("cityimage").joinpath("vocabulary.yaml").read_text(encoding="utf-8"))
    for name, values in document.items():
        if name in ("version", "no_theme"):
            continue
        if not isinstance(values, list) or len(set(values)) != len(values) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"vocabulary.yaml: {name} must be a list of distinct words")
    if not set(document["video_formats"]) | set(document["image_formats"]) <= set(document["formats"]):
        raise ValueError("vocabulary.yaml: video_formats and image_formats must be formats")
    return document


_VOCABULARY = _load()

VERSION: int = _VOCABULARY["version"]
PLATFORMS: tuple[str, ...] = tuple(_VOCABULARY["platforms"])
ROLES: tuple[str, ...] = tuple(_VOCABULARY["roles"])
FORMATS: tuple[str, ...] = tuple(_VOCABULARY["formats"])
VIDEO_FORMATS: tuple[str, ...] = tuple(_VOCABULARY["video_formats"])
IMAGE_FORMATS: tuple[str, ...] = tuple(_VOCABULARY["image_formats"])
THEMES: tuple[str, ...] = tuple(_VOCABULARY["themes"])
NO_THEME: str = _VOCABULARY["no_theme"]
LYNCH_ELEMENTS: tuple[str, ...] = tuple(_VOCABULARY["lynch_elements"])
SENTIMENTS: tuple[str, ...] = tuple(_VOCABULARY["sentiments"])
SEARCH_TYPES: tuple[str, ...] = tuple(_VOCABULARY["search_types"])
SEARCH_DIMENSIONS: tuple[str, ...] = tuple(_VOCABULARY["search_dimensions"])
AUDIENCE_DIMENSIONS: tuple[str, ...] = tuple(_VOCABULARY["audience_dimensions"])
KPI_SCOPES: tuple[str, ...] = tuple(_VOCABULARY["kpi_scopes"])
KPI_UNITS: tuple[str, ...] = tuple(_VOCABULARY["kpi_units"])
KPI_STATUSES: tuple[str, ...] = tuple(_VOCABULARY["kpi_statuses"])

#: Each list by the name the table catalogue's ``values:`` uses.
LISTS: dict[str, tuple[str, ...]] = {
    name: tuple(values) for name, values in _VOCABULARY.items() if isinstance(values, list)
}
