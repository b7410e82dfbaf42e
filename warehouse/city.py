"""One warehouse, one city, one account registry: the city and its registered accounts are recorded by
the first stage that writes; another city's profile, or a profile that changes or drops an account the
warehouse holds, is refused with the way out, before it can change a row."""

from __future__ import annotations

import duckdb

from cityimage.profile import CityProfile
from cityimage.settings import SettingsError
from cityimage.tables import CITY, TABLES
from warehouse.transaction import transaction

#: An account as the registry compares it: (platform, id, role, city), by account key.
Registry = dict[str, tuple[str, str | None, str, str | None]]
#: The operations tables whose rows name the city too (migration 0019), beside every catalogue table.
STAMPED_OPERATIONS = ("ops_file_ledger", "stg_quarantine")


class CityMismatch(SettingsError):
    """The profile is another city's than the one the warehouse holds."""


class ProfileContradiction(SettingsError):
    """The profile changes or drops an account the warehouse holds under another role, city or id."""


class CityUnknown(RuntimeError):
    """A row was about to be written to a warehouse that records no city yet."""


def stamped(table: str) -> bool:
    """Whether the warehouse writes the city on every row of ``table``."""
    return table in TABLES or table in STAMPED_OPERATIONS


def recorded_city(con: duckdb.DuckDBPyConnection) -> str:
    """The key of the city the warehouse holds, which every row written carries."""
    held = held_city(con)
    if held is None:
        raise CityUnknown("the warehouse records no city yet, so its rows could not say whose they are: every "
                          "stage that writes records the city first (warehouse.city.check_city)")
    return held[0]


def check_city(con: duckdb.DuckDBPyConnection, profile: CityProfile) -> None:
    """Record the profile's city and accounts on the first write; refuse a profile of any other city,
    or one that contradicts the accounts held; record the accounts a profile adds.

    Under another city's profile, or a changed role, the accounts change sides: owned figures would be
    computed over other accounts, for every week of the history, and published over the snapshots."""
    city = held_city(con)
    if city is None:
        with transaction(con):
            _record_city(con, profile)
            _record(con, _registry(profile))
        return
    _same_city(city, profile)
    held, given = _held(con), _registry(profile)
    changes = _changes(held, given)
    if changes:
        raise ProfileContradiction(
            f"the city profile contradicts the accounts this warehouse holds: {'; '.join(changes)}. Applied, "
            "the next fact build would re-label every week of their history. If the profile is right, run "
            "`cityimage accept-profile` to record it (the next build then rebuilds every fact under it); if "
            "not, restore the profile (CITYIMAGE_PROFILE_PATH, or the city pack's profile.yaml).")
    added = {key: values for key, values in given.items() if key not in held}
    if added:  # a new peer or channel contradicts nothing; a warehouse from before the registry adopts all
        with transaction(con):
            _record(con, added)


def accept_profile(con: duckdb.DuckDBPyConnection, profile: CityProfile) -> list[str]:
    """Record the profile's accounts as the ones the warehouse holds; returns what changed, in words. The
    profile must be the warehouse's city's."""
    city = held_city(con)
    if city is not None:
        _same_city(city, profile)
    held, given = _held(con), _registry(profile)
    changes = _changes(held, given) + [f"{key} ({given[key][2]}) is added" for key in sorted(given.keys() - held.keys())]
    with transaction(con):
        if city is None:
            _record_city(con, profile)
        con.execute("DELETE FROM ops_registered_account")
        _record(con, given)
    return changes


def standing(con: duckdb.DuckDBPyConnection, profile: CityProfile) -> list[str]:
    """What ``cityimage status`` says of the profile against the warehouse: the city held, the accounts
    recorded, and any change a writing stage would refuse (read only; a warehouse no stage of this
    version has written yet lacks the tables, and says so)."""
    present = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('ops_city', "
                          "'ops_registered_account')").fetchall()[0][0]
    city = held_city(con) if present == 2 else None
    if city is None:
        return [f"city: none recorded yet (the first run records {profile.city}'s profile)"]
    held = _held(con)
    lines = [f"city: {city[1]} ({city[0]}), {len(held)} registered account(s) recorded"]
    if city[0] != profile.key:
        return [*lines, f"the profile is {profile.city}'s: every writing stage refuses it (exit 2)"]
    changes = _changes(held, _registry(profile))
    if changes:
        lines.append(f"the profile contradicts them: {'; '.join(changes)}; the next run refuses it until "
                     "`cityimage accept-profile`")
    return lines


def _record_city(con: duckdb.DuckDBPyConnection, profile: CityProfile) -> None:
    """Record the city; rows a warehouse from before the city key already holds take it too."""
    con.execute("INSERT INTO ops_city VALUES (?, ?, now())", [profile.key, profile.city])
    for table in (*TABLES, *STAMPED_OPERATIONS):
        con.execute(f"UPDATE {table} SET {CITY.name} = ? WHERE {CITY.name} IS NULL", [profile.key])


def held_city(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    rows = con.execute("SELECT city_key, city FROM ops_city").fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def _same_city(held: tuple[str, str], profile: CityProfile) -> None:
    key, city = held
    if key != profile.key:
        raise CityMismatch(
            f"this warehouse holds {city}'s data (city key {key}) and the city profile is {profile.city}'s "
            f"({profile.key}): one warehouse holds one city. Give each city its own CITYIMAGE_HOME (or "
            "CITYIMAGE_WAREHOUSE_PATH and CITYIMAGE_SNAPSHOT_PATH), or set CITYIMAGE_PROFILE_PATH to "
            f"{city}'s profile (docs/deployment.md, 'Several cities').")


def _registry(profile: CityProfile) -> Registry:
    return {a.key: (a.platform, a.id, a.role, a.city) for a in profile.accounts}


def _held(con: duckdb.DuckDBPyConnection) -> Registry:
    rows = con.execute("SELECT account_key, platform, account_id, role, city FROM ops_registered_account").fetchall()
    return {key: (platform, account_id, role, city) for key, platform, account_id, role, city in rows}


def _record(con: duckdb.DuckDBPyConnection, accounts: Registry) -> None:
    con.executemany("INSERT INTO ops_registered_account VALUES (?, ?, ?, ?, ?, now())",
                    [[key, *values] for key, values in sorted(accounts.items())])


def _changes(held: Registry, given: Registry) -> list[str]:
    """Each held account the profile changes or leaves out, in words (none while nothing is held: a
    warehouse from before the registry adopts the profile it first meets)."""
    changes = []
    for key, (_, account_id, role, city) in sorted(held.items()):
        if key not in given:
            changes.append(f"{key} ({role}) is no longer in the profile")
            continue
        _, new_id, new_role, new_city = given[key]
        for what, old, new in (("role", role, new_role), ("city", city, new_city), ("id", account_id, new_id)):
            if old != new:
                changes.append(f"{key}: {what} {old or 'none'} → {new or 'none'}")
    return changes
