"""What a module's ``/metrics`` page shows besides the actor runtime and HTTP: its router,
secrets, channels, and every database and cache actor (the user's own providers too, as they
answer the same protocol)."""

from __future__ import annotations

import actors
from pywatt.cache import CACHE, Stats
from pywatt.channels import ChannelView
from pywatt.db import DATABASE, PoolStatus
from pywatt.metrics import (
    SystemMetrics,
    cache_families,
    pool_families,
    router_families,
    secret_families,
)
from pywatt.router import ROUTER_PROTOCOL, GetRouterStatistics
from pywatt.secrets import SecretStatistics

__all__ = ["watch_module"]

SECRETS_ACTOR = "pywatt.secrets"


def watch_module(system: actors.ActorSystem, channels: ChannelView) -> SystemMetrics:
    """Put the module's stateful actors and channels on the system's metrics."""
    metrics = SystemMetrics.of(system)
    metrics.watch("router", GetRouterStatistics, router_families, protocol=ROUTER_PROTOCOL)
    metrics.watch("secrets", SecretStatistics, secret_families, name=SECRETS_ACTOR)
    metrics.watch("db", PoolStatus, pool_families, protocol=DATABASE)
    metrics.watch("cache", Stats, cache_families, protocol=CACHE)
    metrics.watch_channels(channels.all_statistics)  # direct lines too
    return metrics
