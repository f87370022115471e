"""Reconnect policies (docs/protocol.md §6.1), expressed as supervision.

Each connection runs under its own supervisor; a failed attempt is a crash of the connection
actor and the supervisor's restart delay and restart limit come from the policy:

* :class:`NoReconnect`: one attempt; the first failure gives up.
* :class:`FixedInterval`: ``delay`` between attempts, ``max_attempts`` attempts in all
  (``None``: unlimited).
* :class:`ExponentialBackoff`: ``initial_delay`` after the first failure, multiplied by
  ``multiplier`` after each further one, capped at ``max_delay``, jittered by ±``jitter``,
  at most ``max_attempts`` attempts (``None``, the Rust SDK's behaviour: unlimited).

Toward an orchestrator on this host (a Unix socket, or TCP to a loopback address) an
exponential backoff whose ``max_delay`` is not given is capped at :data:`LOCAL_MAX_DELAY`
instead of the Rust SDK's 30 s: a local orchestrator that dropped the module is back within
about a second, and a module that waited out a 25.6 s delay after nine quick disconnects in a
row would be gone for no reason. Reconnect delays have no effect on the wire.

An unlimited policy never escalates. A limited one allows ``max_attempts - 1`` restarts
within its *window*, long enough to hold every attempt and every delay of one series, so the
supervisor gives up exactly when the attempts are spent. A connection that stayed up for
``reset_after`` seconds starts its series again from the first delay.
"""

from __future__ import annotations

import ipaddress
import math
import random
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from actors import Backoff
from pywatt._config import aliases, register_tagged_union, structure_config

from ._errors import ChannelConfigError

__all__ = [
    "LOCAL_MAX_DELAY",
    "ExponentialBackoff",
    "FixedInterval",
    "NoReconnect",
    "ReconnectPolicy",
    "Supervision",
    "default_policy",
    "is_local_address",
    "policy_from_dict",
]

LOCAL_MAX_DELAY: Final = 2.0
"""Seconds: the cap of the default exponential backoff toward an orchestrator on this host."""


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ChannelConfigError(f"{attribute.name} must be a non-negative number, not {value!r}")


def _attempts(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ChannelConfigError(f"{attribute.name} must be a positive integer or None")


@attrs.frozen
class Supervision:
    """What a policy means to the connection's supervisor."""

    max_restarts: int | None
    within: float
    backoff: Backoff


@attrs.frozen(kw_only=True)
class NoReconnect:
    """Exactly one attempt: a failure (or a later disconnection) gives up."""

    reset_after: float = attrs.field(default=10.0, validator=_positive)

    @property
    def max_attempts(self) -> int:
        return 1

    def delay(self, failure: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failure number ``failure`` (0-based)."""
        return 0.0

    def supervision(self, connect_timeout: float) -> Supervision:
        return Supervision(0, max(self.reset_after, 1.0), Backoff(0, 0, 1, 0, 0))


@attrs.frozen(kw_only=True)
class FixedInterval:
    """``delay`` seconds between attempts; ``max_attempts`` attempts (None: unlimited)."""

    delay_s: float = attrs.field(default=1.0, validator=_positive, metadata=aliases("delay"))
    max_attempts: int | None = attrs.field(default=None, validator=_attempts)
    reset_after: float = attrs.field(default=10.0, validator=_positive)

    def delay(self, failure: int, rand: Callable[[], float] = random.random) -> float:
        return self.delay_s

    def supervision(self, connect_timeout: float) -> Supervision:
        backoff = Backoff(
            first=self.delay_s, base=self.delay_s, multiplier=1.0, cap=self.delay_s, jitter=0.0
        )
        return _supervision(self, self.max_attempts, connect_timeout, backoff)


@attrs.frozen(kw_only=True)
class ExponentialBackoff:
    """Exponential delays with jitter and a cap; the Rust default is 100 ms x2 up to 30 s."""

    initial_delay: float = attrs.field(default=0.1, validator=_positive)
    max_delay: float = attrs.field(default=30.0, validator=_positive)
    multiplier: float = attrs.field(default=2.0, validator=_positive)
    jitter: float = attrs.field(default=0.0, validator=_positive)
    max_attempts: int | None = attrs.field(default=None, validator=_attempts)
    reset_after: float = attrs.field(default=10.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.jitter > 1:
            raise ChannelConfigError(f"jitter must be within [0, 1], not {self.jitter}")

    def _backoff(self) -> Backoff:
        # Failure n (0-based) waits initial * multiplier**n: Backoff's n-th restart waits
        # `first` for n = 0, then base * multiplier**(n-1).
        return Backoff(
            first=min(self.initial_delay, self.max_delay),
            base=self.initial_delay * self.multiplier,
            multiplier=self.multiplier,
            cap=self.max_delay,
            jitter=self.jitter,
        )

    def delay(self, failure: int, rand: Callable[[], float] = random.random) -> float:
        return self._backoff().delay(failure, rand)

    def supervision(self, connect_timeout: float) -> Supervision:
        return _supervision(self, self.max_attempts, connect_timeout, self._backoff())


ReconnectPolicy = NoReconnect | FixedInterval | ExponentialBackoff

register_tagged_union(
    ReconnectPolicy,
    {"none": NoReconnect, "fixed": FixedInterval, "exponential": ExponentialBackoff},
    spellings={
        "fixedinterval": "fixed",
        "fixed_interval": "fixed",
        "exponentialbackoff": "exponential",
        "exponential_backoff": "exponential",
    },
    default="exponential",
)


def is_local_address(address: str, *, unix_socket: bool) -> bool:
    """Whether a channel address is on this host: a Unix socket, or a TCP ``host:port`` whose
    host is ``localhost`` or a loopback literal (names are not resolved)."""
    if unix_socket:
        return True
    host = address.rpartition(":")[0].strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_policy(*, local: bool) -> ExponentialBackoff:
    """The policy of a channel that configures none: the Rust SDK's 100 ms doubling, capped
    at :data:`LOCAL_MAX_DELAY` toward a ``local`` orchestrator and at Rust's 30 s otherwise."""
    return ExponentialBackoff(max_delay=LOCAL_MAX_DELAY) if local else ExponentialBackoff()


def _supervision(
    policy: FixedInterval | ExponentialBackoff,
    max_attempts: int | None,
    connect_timeout: float,
    backoff: Backoff,
) -> Supervision:
    if max_attempts is None:
        return Supervision(None, max(policy.reset_after, 1.0), backoff)
    # The window holds a whole series: every attempt (each bounded by the connect timeout)
    # and every delay at its largest jittered value.
    delays = sum(min(backoff.cap, backoff.delay(n, lambda: 1.0)) for n in range(max_attempts - 1))
    window = delays + max_attempts * connect_timeout + 1.0
    return Supervision(max_attempts - 1, max(window, policy.reset_after), backoff)


def policy_from_dict(
    data: Mapping[str, Any] | None, *, local: bool = False, where: str = "reconnect policy"
) -> ReconnectPolicy:
    """A policy from a config dict: ``{"type": "none" | "fixed" | "exponential", ...}``
    (the seed's names ``FixedInterval`` and ``ExponentialBackoff`` also work), read by the
    one config converter.

    Keys: ``delay`` and ``max_attempts`` (fixed); ``initial_delay``, ``max_delay``,
    ``multiplier``, ``jitter``, ``max_attempts`` (exponential); ``reset_after`` (all). Missing
    or None: :func:`default_policy`. An exponential policy without ``max_delay`` toward a
    ``local`` orchestrator is capped at :data:`LOCAL_MAX_DELAY`, else at 30 s. Raises
    :class:`ChannelConfigError` naming the bad key (``where`` names the dict).
    """
    if data is None:
        return default_policy(local=local)
    policy: ReconnectPolicy = structure_config(
        data, ReconnectPolicy, root=where, error=ChannelConfigError
    )
    if isinstance(policy, ExponentialBackoff) and local and "max_delay" not in data:
        policy = attrs.evolve(policy, max_delay=LOCAL_MAX_DELAY)
    return policy
