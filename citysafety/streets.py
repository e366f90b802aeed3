"""The district's streets: the one list, the seed `dbt_project/seeds/streets.csv`.

Read by dbt (the seed itself), the access policy, the quality suites, the registry's dbt
generator and the dashboard; nothing else spells the codes out (tests/test_registry.py).
"""

from __future__ import annotations

import csv
from functools import lru_cache

from citysafety.config import PROJECT_ROOT

STREETS_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "streets.csv"
UNKNOWN_STREET = "UNKNOWN"


@lru_cache(maxsize=1)
def street_codes() -> tuple[str, ...]:
    """The street codes in the district's usual order, without UNKNOWN."""
    with STREETS_SEED.open(encoding="utf-8", newline="") as handle:
        codes = tuple(row["street_code"] for row in csv.DictReader(handle))
    return tuple(c for c in codes if c != UNKNOWN_STREET)
