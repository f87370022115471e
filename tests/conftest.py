"""Settings for every test."""

from __future__ import annotations

import os

# Tests read the console of `pywatt run` (a child process writing to a pipe) as text: the
# pretty form, which a pipe would otherwise get as JSON lines. The tests of the formats
# themselves (tests/logs/test_console_formats.py) clear this for their processes.
os.environ.setdefault("PYWATT_LOG_FORMAT", "pretty")
