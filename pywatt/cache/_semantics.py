"""What each cache operation does on each backend, as data.

docs/cache-backends.md embeds the table :func:`semantics_markdown` renders from this data
(between its ``BEGIN``/``END`` markers; ``python -m pywatt.cache._semantics`` prints it), and
the shared test suite (tests/cache) reads the ``code`` of every row to decide what it expects
from each backend, so the document, the data and the behaviour cannot drift apart.
"""

from __future__ import annotations

from typing import Final

import attrs

BACKENDS: Final = ("memory", "redis", "memcached", "file", "proxy")


@attrs.frozen
class Row:
    """One behaviour: per backend a ``code`` the tests check and the text the docs show."""

    topic: str
    cells: dict[str, tuple[str, str]]
    """backend -> (code, text)."""

    def code(self, backend: str) -> str:
        return self.cells[backend][0]


def _same(code: str, text: str, **overrides: tuple[str, str]) -> dict[str, tuple[str, str]]:
    cells = dict.fromkeys(BACKENDS, (code, text))
    cells.update(overrides)
    return cells


ROWS: Final = {
    "atomic_ops": Row(
        "set_nx / get_set / increment: how they are atomic",
        {
            "memory": ("actor", "one actor, one message at a time"),
            "redis": ("server", "one command: `SET NX`, `SET ... GET`, `INCRBY`/`DECRBY`"),
            "memcached": ("server", "`ms` add mode, `ma` (auto-create); get_set is a CAS loop"),
            "file": ("lock", "exclusive `flock` on the directory (between processes too)"),
            "proxy": ("server", "the orchestrator's backend (one actor)"),
        },
    ),
    "increment_missing": Row(
        "increment / decrement of a missing key",
        _same(
            "from_zero",
            "starts from 0",
            memcached=("from_zero", "starts from 0 (`ma N0 J<delta>`); a decrement gives 0"),
        ),
    ),
    "decrement_below_zero": Row(
        "decrement below zero",
        _same(
            "negative",
            "goes negative (signed 64-bit)",
            memcached=("floors_at_zero", "stops at 0: Memcached counters are unsigned"),
        ),
    ),
    "increment_overflow": Row(
        "increment past the top of the range",
        _same(
            "overflow_error",
            "`CounterOverflow` past 2**63 - 1",
            memcached=("wraps", "wraps to 0 past 2**64 - 1 (unsigned 64-bit)"),
        ),
    ),
    "increment_non_integer": Row(
        "increment of a value that is not a decimal integer",
        _same("not_an_integer", "`NotAnInteger`"),
    ),
    "counter_text": Row(
        "a counter read back with get",
        _same(
            "decimal",
            'decimal ASCII (`b"42"`)',
            memcached=(
                "decimal",
                'decimal ASCII; after a decrement that shortens it, maybe space-padded (`b"9 "`)',
            ),
        ),
    ),
    "key_whitespace": Row(
        "a key with a space",
        _same(
            "accepted",
            "accepted",
            memcached=("invalid_key", "`InvalidKey` (pymemcache's `check_key_helper`)"),
        ),
    ),
    "key_long": Row(
        "a key of 300 bytes",
        _same(
            "accepted",
            "accepted",
            memcached=("invalid_key", "`InvalidKey`: at most 250 bytes, namespace included"),
        ),
    ),
    "ttl_resolution": Row(
        "TTL resolution (a TTL of 0.3 s)",
        {
            "memory": ("fraction", "any fraction of a second, on the trio clock"),
            "redis": ("fraction", "milliseconds (`PX`, rounded up)"),
            "memcached": (
                "whole_seconds",
                "whole seconds, rounded up, plus one (its clock ticks in seconds)",
            ),
            "file": ("fraction", "any fraction of a second, on the wall clock"),
            "proxy": ("whole_seconds", "whole seconds, rounded up (`ttl_seconds`)"),
        },
    ),
    "ttl_over_30_days": Row(
        "a TTL over 30 days",
        _same(
            "kept",
            "kept as given",
            memcached=("kept", "sent as an absolute Unix time (Memcached's rule), so kept"),
        ),
    ),
    "large_value": Row(
        "a value of 1.5 MiB",
        {
            "memory": ("accepted", "accepted unless over `max_bytes` (`ValueTooLarge`)"),
            "redis": ("accepted", "accepted (Redis takes up to 512 MiB)"),
            "memcached": ("too_large", "`ValueTooLarge` over `item_limit` (1 MiB, memcached `-I`)"),
            "file": ("accepted", "accepted"),
            "proxy": ("accepted", "accepted (base64 in one stdio line)"),
        },
    ),
    "set_many": Row(
        "set_many",
        {
            "memory": ("all_or_nothing", "all or nothing (sizes checked first)"),
            "redis": ("all_or_nothing", "all or nothing (`MULTI`/`EXEC`)"),
            "memcached": ("per_key", "key by key, pipelined (not atomic)"),
            "file": ("per_key", "key by key under the lock (a crash may leave some written)"),
            "proxy": ("all_or_nothing", "as the orchestrator's backend (memory)"),
        },
    ),
    "clear_scope": Row(
        "clear, beside another cache with another namespace on the same server",
        {
            "memory": ("namespace_only", "this actor's entries only"),
            "redis": (
                "namespace_only",
                "keys under the namespace (`SCAN` + `UNLINK`; `FLUSHDB` without one)",
            ),
            "memcached": ("everything", "`flush_all`: the whole server, every namespace"),
            "file": ("everything", "every entry in the directory, every namespace"),
            "proxy": ("namespace_only", "the connection's namespace at the orchestrator"),
        },
    ),
    "stats": Row(
        "stats: hits, misses, evictions, errors, latency",
        {
            "memory": ("client", "counted by the actor; evictions and expirations exact"),
            "redis": ("client", "counted by the actor; `INFO stats` figures in `server`"),
            "memcached": ("client", "counted by the actor; `stats` figures in `server`"),
            "file": ("client", "counted by the actor; a sweep counts items and bytes"),
            "proxy": ("server", "the orchestrator backend's figures (§13.2 `stats`)"),
        },
    ),
}


def semantics_markdown() -> str:
    """The table of :data:`ROWS` as Markdown (one row per behaviour, one column per backend)."""
    lines = [
        "| behaviour | " + " | ".join(BACKENDS) + " |",
        "|---|" + "---|" * len(BACKENDS),
    ]
    for row in ROWS.values():
        cells = " | ".join(row.cells[b][1] for b in BACKENDS)
        lines.append(f"| {row.topic} | {cells} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(semantics_markdown(), end="")
