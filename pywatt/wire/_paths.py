"""Endpoint path patterns, as modules announce them (docs/protocol.md §8): which paths match."""

from __future__ import annotations


def path_matches(pattern: str, path: str) -> bool:
    """Whether ``path`` matches an endpoint ``pattern``: exact; ``/x/*`` for ``/x`` and
    everything under it; ``{name}`` segments match any one non-empty segment."""
    if pattern.endswith("/*"):
        base = pattern[:-2]
        return path == base or path.startswith(base + "/") or base == ""
    if "{" not in pattern:
        return path == pattern or (path.endswith("/") and path[:-1] == pattern)
    want = pattern.strip("/").split("/")
    got = path.strip("/").split("/")
    if len(want) != len(got):
        return False
    return all(
        (w.startswith("{") and w.endswith("}") and g != "") or w == g
        for w, g in zip(want, got, strict=True)
    )
