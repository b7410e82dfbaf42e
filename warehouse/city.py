"""One warehouse, one city: the city is recorded by the first stage that writes, and another city's
profile is refused with the way out, before it can change a row."""

from __future__ import annotations

import duckdb

from cityimage.profile import CityProfile
from cityimage.settings import SettingsError
from warehouse.transaction import transaction


class CityMismatch(SettingsError):
    """The profile is another city's than the one the warehouse holds."""


def check_city(con: duckdb.DuckDBPyConnection, profile: CityProfile) -> None:
    """Record the profile's city on the first write; refuse a profile of any other city.

    Under another city's profile the accounts change roles: the owned figures of one city would be
    computed over the other's accounts and published over its snapshots."""
    rows = con.execute("SELECT city_key, city FROM ops_city").fetchall()
    if not rows:
        with transaction(con):
            con.execute("INSERT INTO ops_city VALUES (?, ?, now())", [profile.key, profile.city])
        return
    key, city = rows[0]
    if key != profile.key:
        raise CityMismatch(
            f"this warehouse holds {city}'s data (city key {key}) and the city profile is {profile.city}'s "
            f"({profile.key}): one warehouse holds one city. Give each city its own CITYIMAGE_HOME (or "
            "CITYIMAGE_WAREHOUSE_PATH and CITYIMAGE_SNAPSHOT_PATH), or set CITYIMAGE_PROFILE_PATH to "
            f"{city}'s profile (docs/deployment.md, 'Several cities').")
