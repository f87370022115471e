"""A histogram cheap enough for every handled message: a bucket count per bound, a sum and a
count, read by a collector into a ``HistogramMetricFamily``.

prometheus_client's own ``Histogram`` takes a lock on every observation; an actor system
observes each handled message on one thread, so plain counters serve (the figures are read on
the same thread, when ``/metrics`` is rendered).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Final

import attrs

__all__ = ["BUCKETS", "Histogram", "HistogramSnapshot"]

BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                  0.5, 1.0, 2.5, 5.0, 10.0)  # fmt: skip
"""Bucket bounds in seconds (plus +Inf)."""


@attrs.frozen
class HistogramSnapshot:
    """A histogram's figures at one moment: cumulative ``(le, count)`` pairs and the sum."""

    buckets: tuple[tuple[str, float], ...] = ()
    sum: float = 0.0


class Histogram:
    """Counts per bucket, a sum and a count. Not thread-safe (see the module docstring)."""

    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds
        self.count += 1

    def buckets(self) -> Sequence[tuple[str, float]]:
        """Cumulative ``(le, count)`` pairs, ``+Inf`` last, as prometheus_client takes them."""
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*BUCKETS, None), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound is None else repr(bound), running))
        return out

    def snapshot(self) -> HistogramSnapshot:
        """The figures now, to hand to a collector in another task."""
        return HistogramSnapshot(tuple(self.buckets()), self.sum)
