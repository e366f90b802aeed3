"""Demo deliveries and demo sources of the feeds beyond the spine, one module each.

Every module here defines `generate(home: Path, seed: int, end: date) -> dict[str, int]`
(files written per "source/feed") and writes only into `<home>/landing` — or, for pulled
feeds, prepares the demo source under `<home>/demo_sources/`. `demo.generate`
runs them all after the spine feeds.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date
from pathlib import Path


def generate_all(home: Path, seed: int, end: date) -> dict[str, int]:
    summary: dict[str, int] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        summary.update(module.generate(Path(home), seed, end))
    return summary
