"""A /metrics page read with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(page: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` of every sample on the page (which must parse)."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def families(page: str) -> dict[str, str]:
    """``{family name: type}`` of the page."""
    return {f.name: f.type for f in text_string_to_metric_families(page)}


def value(page: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with exactly ``labels``, or None."""
    return samples(page).get((name, frozenset(labels.items())))
