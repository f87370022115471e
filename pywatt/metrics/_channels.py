"""The module's channels to the orchestrator and its direct lines to other modules: state,
connects, failures, frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = ["ChannelCollector"]

_COUNTERS = {
    "connects": "Connections made (the first one and every reconnect).",
    "failures": "Connection attempts that failed and connections lost.",
    "frames_in": "Frames received.",
    "frames_out": "Frames sent.",
    "bytes_in": "Bytes received (frame headers included).",
    "bytes_out": "Bytes sent (frame headers included).",
    "malformed": "Frames received that could not be decoded.",
    "heartbeats": "Heartbeats received from the orchestrator.",
}


class ChannelCollector(Collector):
    """Reads ``statistics()`` (a list of :class:`pywatt.channels.ChannelStatistics`) when
    collected; it is kept up to date by the channel actors themselves."""

    def __init__(self, statistics: Callable[[], Sequence[Any]]) -> None:
        self.statistics = statistics

    def collect(self) -> Iterator[Metric]:
        channels = list(self.statistics())
        labels = ["channel", "kind"]
        up = GaugeMetricFamily(
            "pywatt_channel_up", "1 while the channel is connected.", labels=labels
        )
        for channel in channels:
            up.add_metric(
                [channel.name, str(channel.kind.value).lower()],
                int(channel.status.value == "connected"),
            )
        yield up
        for attribute, help_text in _COUNTERS.items():
            family = CounterMetricFamily(f"pywatt_channel_{attribute}", help_text, labels=labels)
            for channel in channels:
                family.add_metric(_labels(channel), getattr(channel, attribute))
            yield family


def _labels(channel: Any) -> list[str]:
    return [channel.name, str(channel.kind.value).lower()]
