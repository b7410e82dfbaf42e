"""The city profile: names, the account registry and tracked keywords, validated strictly.

Roles come from this file, never from code, so a team can add a benchmark city without a release.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from readers.registry import FORMATS

Platform = Literal["facebook", "instagram", "youtube", "x", "tiktok"]
Role = Literal["owned", "benchmark", "media", "public"]


class ProfileError(ValueError):
    """The profile file is unreadable or breaks a rule; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedExport(_Strict):
    """An export the team delivers for an account, and how often: a week without it is incomplete."""

    format: str
    every_weeks: int = Field(default=1, ge=1, le=53)

    @field_validator("format")
    @classmethod
    def _known_format(cls, name: str) -> str:
        known = {fmt.name for fmt in FORMATS}
        if name not in known:
            raise ValueError(f"unknown export format {name!r}; known formats: {', '.join(sorted(known))}")
        return name


class Account(_Strict):
    platform: Platform
    handle: str
    id: str | None = None
    role: Role
    city: str | None = None
    #: The exports delivered for this account (a format name, or {format, every_weeks}); empty means
    #: nothing is expected, so no week is marked incomplete for want of this account's files.
    exports: tuple[ExpectedExport, ...] = ()

    @field_validator("exports", mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"format": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _exports_of_this_platform(self) -> "Account":
        platforms = {fmt.name: fmt.platform for fmt in FORMATS}
        for export in self.exports:
            if platforms[export.format] != self.platform:
                raise ValueError(f"{export.format} is a {platforms[export.format]} export, not {self.platform}")
        return self

    @property
    def handle_key(self) -> str:
        """The handle as accounts are matched (``normal_handle``): ``@iChongqing `` is ``ichongqing``."""
        return normal_handle(self.handle)

    @property
    def key(self) -> str:
        """Stable account key used across the warehouse: ``platform:handle``, the handle as matched."""
        return f"{self.platform}:{self.handle_key}"


class Keyword(_Strict):
    keyword: str
    region: str | None = None


class CityProfile(_Strict):
    version: int
    city: str
    names: dict[str, list[str]]
    hashtags: list[str] = []
    accounts: list[Account]
    search_keywords: list[Keyword]

    @property
    def key(self) -> str:
        """The city's key: its name in lower case, words joined by ``-`` (``Chongqing`` is ``chongqing``).

        A warehouse, a snapshot folder and a city's deployments belong to one city, named by this key."""
        return re.sub(r"[\W_]+", "-", self.city.casefold()).strip("-")

    @field_validator("city")
    @classmethod
    def _named(cls, value: str) -> str:
        if not re.search(r"[^\W_]", value):
            raise ValueError("the city needs a name with at least one letter or digit")
        return value

    @model_validator(mode="after")
    def _unique_accounts(self) -> "CityProfile":
        seen: set[str] = set()
        for account in self.accounts:
            if account.key in seen:
                raise ValueError(f"account {account.key} is listed twice")
            seen.add(account.key)
        return self

    def city_terms(self) -> list[str]:
        """Every spelling and hashtag that marks a mention of the city, longest first."""
        terms = {name for names in self.names.values() for name in names} | set(self.hashtags)
        return sorted(terms, key=lambda term: (-len(term), term))

    def role_of(self, platform: str, handle: str | None, account_id: str | None) -> Role:
        """A registered account's role; anyone not registered is the public."""
        account = self.find(platform, handle, account_id)
        return account.role if account else "public"

    def find(self, platform: str, handle: str | None, account_id: str | None, by_handle: bool = True) -> Account | None:
        """The registered account behind an id, or behind a handle where the id cannot decide.

        Identity goes by id, because anyone can take a display name: a handle names an account only
        where the row carries no id or the account was registered without one, and never with
        ``by_handle=False`` (comment authors). ``warehouse.facts.models.resolved`` is the same rule in SQL.
        """
        for account in self.accounts:
            if account.platform == platform and account_id and account.id == account_id:
                return account
        if not by_handle or not handle:
            return None
        name = normal_handle(handle)
        for account in self.accounts:
            if account.platform == platform and account.handle_key == name and not (account_id and account.id):
                return account
        return None


#: What ``normal_handle`` trims: ASCII white space, the same in Python, Polars and DuckDB.
HANDLE_SPACE = " \t\n\r\f\v"


def normal_handle(name: str) -> str:
    """A handle or display name as accounts are matched: trimmed, without a leading ``@``, lower case.

    The same rule as a Polars expression is ``transforms.pseudonymise.normal_handle_expr`` and in SQL
    ``warehouse.facts.models.normal_handle_sql``; a test holds the three equal."""
    return name.strip(HANDLE_SPACE).removeprefix("@").lower()


def load_profile(path: Path) -> CityProfile:
    """Read and validate the profile; every problem is reported with the file and the key path."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"city profile {path}: cannot read it: {exc}") from exc
    try:
        return CityProfile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ProfileError(f"city profile {path}: {problems}") from None
