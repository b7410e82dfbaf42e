"""The network view: each city's weekly KPIs beside the other cities' and the network's median.

Pure: frames in, a frame out. The inputs are the cities' published ``kpi_weekly`` rows for one week;
the output has one row per KPI figure (KPI, role, dimension) and city, for the figures every city
reports the same way: roll-ups of a role across platforms (``scope = 'role'``, no platform) with a
value. A city's figure is compared with the median of the cities that have it, and ranked among them
(1 = the highest value; whether higher is better depends on the KPI, which its catalogue entry says).
"""

from __future__ import annotations

import polars as pl

#: One row per KPI figure and city, sorted on (kpi_id, role, dimension, city_key) for byte-stable Parquet.
NETWORK_SCHEMA: dict[str, pl.DataType] = {
    "week_id": pl.String(), "kpi_id": pl.String(), "kpi_name": pl.String(), "role": pl.String(),
    "dimension": pl.String(), "unit": pl.String(), "city_key": pl.String(), "city": pl.String(),
    "value": pl.Float64(), "network_median": pl.Float64(), "vs_median": pl.Float64(), "rank": pl.Int64(),
    "cities": pl.Int64(),
}
KEY = ["kpi_id", "role", "dimension"]


def network_kpis(cities: dict[tuple[str, str], pl.DataFrame]) -> pl.DataFrame:
    """The network table of one week from each city's ``kpi_weekly`` rows, keyed by (city key, city name)."""
    rows = [
        frame.filter((pl.col("scope") == "role") & pl.col("platform").is_null() & pl.col("value").is_not_null())
        .select("week_id", *KEY, "kpi_name", "unit", pl.col("value").cast(pl.Float64))
        .with_columns(city_key=pl.lit(key), city=pl.lit(name))
        for (key, name), frame in sorted(cities.items())
    ]
    if not rows:
        return pl.DataFrame(schema=NETWORK_SCHEMA)
    figure = [*KEY, "unit"]
    table = pl.concat(rows, how="vertical_relaxed").with_columns(
        network_median=pl.col("value").median().over(figure),
        rank=pl.col("value").rank("min", descending=True).over(figure).cast(pl.Int64),
        cities=pl.col("value").count().over(figure).cast(pl.Int64),
    ).with_columns(vs_median=pl.col("value") - pl.col("network_median"))
    return table.select(list(NETWORK_SCHEMA)).sort([*KEY, "city_key"], nulls_last=True, maintain_order=True)
