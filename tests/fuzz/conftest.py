"""Fuzz targets share one hypothesis profile: a brief run by default (CI), a long one with
``PYWATT_FUZZ_EXAMPLES`` (``just fuzz``). Examples that once failed or were interesting are
kept in ``tests/fuzz/examples/`` (committed) and replayed first on every run; CI reads the
database but does not write it."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

EXAMPLES = Path(__file__).resolve().parent / "examples"
_db = DirectoryBasedExampleDatabase(EXAMPLES)

FUZZ = settings(
    max_examples=int(os.environ.get("PYWATT_FUZZ_EXAMPLES", "50")),
    deadline=None,
    database=ReadOnlyDatabase(_db) if os.environ.get("CI") else _db,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
