"""Declarative specs of supervision trees: strategies, restart types, backoff, children."""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._mailbox import OverflowPolicy
from ._registry import Protocol

if TYPE_CHECKING:
    from ._actor import Actor


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them fails (Erlang/OTP)."""

    ONE_FOR_ONE = "one_for_one"
    """Only the failed child."""
    ONE_FOR_ALL = "one_for_all"
    """Every child: the others are stopped (in reverse order) and all restart in order."""
    REST_FOR_ONE = "rest_for_one"
    """The failed child and every child started after it (they depend on it)."""


class Restart(enum.Enum):
    """When a child that ended is started again (Erlang/OTP)."""

    PERMANENT = "permanent"
    """Always, whether it crashed or stopped by itself."""
    TRANSIENT = "transient"
    """Only if it crashed."""
    TEMPORARY = "temporary"
    """Never; its name is released when it ends."""


class AutoShutdown(enum.Enum):
    """Whether a supervisor stops itself when its *significant* children end (Erlang/OTP).

    Only a significant child's exit that is not followed by a restart counts: a temporary
    one ending in any way, a transient one stopping normally (a transient one that crashes is
    restarted as usual). The supervisor then stops its other children in reverse order and
    ends normally, so its parent treats it like a child that stopped by itself.
    """

    NEVER = "never"
    """Significant children are not allowed (the default)."""
    ANY_SIGNIFICANT = "any_significant"
    """Shut down when any significant child has ended."""
    ALL_SIGNIFICANT = "all_significant"
    """Shut down when the last running significant child has ended."""


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value}")


@attrs.frozen
class Backoff:
    """Delay before a restart: exponential, with jitter and a cap.

    The n-th consecutive restart of a child (n = 0, 1, ...) waits ``first`` for n = 0, then
    ``min(cap, base * multiplier ** (n - 1))``, each scaled by a random factor in
    ``[1 - jitter, 1 + jitter]`` and kept within ``cap``. A child that ran at least the
    supervisor's ``within`` period before failing starts again from n = 0.
    """

    first: float = attrs.field(default=0.0, validator=_non_negative)
    base: float = attrs.field(default=0.05, validator=_non_negative)
    multiplier: float = attrs.field(default=2.0, validator=_non_negative)
    cap: float = attrs.field(default=5.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.1, validator=_non_negative)

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before restart number ``attempt`` (0-based)."""
        if attempt == 0:
            raw = self.first
        else:
            try:
                raw = self.base * self.multiplier ** (attempt - 1)
            except OverflowError:  # thousands of restarts in a row: long past the cap
                raw = self.cap
        raw = min(raw, self.cap)
        if self.jitter:
            raw *= 1.0 + self.jitter * (2.0 * rand() - 1.0)
        return max(0.0, min(raw, self.cap))


@attrs.frozen
class ChildSpec:
    """How a supervisor runs one actor.

    ``factory`` makes a fresh actor for each incarnation (an Actor subclass is a factory).
    ``shutdown`` is the grace period of a graceful stop before the actor is cancelled.
    ``significant`` makes its end count for the supervisor's ``auto_shutdown`` (see
    :class:`AutoShutdown`); a significant child is transient or temporary, never permanent.
    """

    name: str
    factory: Callable[[], Actor[Any]]
    restart: Restart = Restart.PERMANENT
    shutdown: float = attrs.field(default=5.0, validator=_non_negative)
    mailbox_size: int = 1024
    overflow: OverflowPolicy = OverflowPolicy.WAIT
    protocol: Protocol | None = None
    significant: bool = False

    def __attrs_post_init__(self) -> None:
        _check_significant(self.name, self.significant, self.restart)


def _check_significant(name: str, significant: bool, restart: Restart) -> None:
    if significant and restart is Restart.PERMANENT:
        raise ValueError(
            f"child {name!r}: a significant child must be transient or temporary, not permanent"
        )


def _as_tuple(
    children: Sequence[ChildSpec | SupervisorSpec],
) -> tuple[ChildSpec | SupervisorSpec, ...]:
    return tuple(children)


@attrs.frozen
class SupervisorSpec:
    """A supervisor and its static children, started in order and stopped in reverse.

    ``max_restarts`` restarts within ``within`` seconds are allowed; one more and the
    supervisor stops its children and fails to its parent. ``None`` means unlimited: it never
    escalates (backoff still applies).

    ``auto_shutdown`` (see :class:`AutoShutdown`) lets it stop itself when its significant
    children end; ``significant`` marks this supervisor as a significant child of its own
    parent (it must then be transient or temporary there).
    """

    name: str
    children: tuple[ChildSpec | SupervisorSpec, ...] = attrs.field(default=(), converter=_as_tuple)
    strategy: Strategy = Strategy.ONE_FOR_ONE
    max_restarts: int | None = 3
    within: float = attrs.field(default=5.0, validator=_non_negative)
    backoff: Backoff = Backoff()
    restart: Restart = Restart.PERMANENT
    shutdown: float = attrs.field(default=10.0, validator=_non_negative)
    auto_shutdown: AutoShutdown = AutoShutdown.NEVER
    significant: bool = False

    def __attrs_post_init__(self) -> None:
        _check_significant(self.name, self.significant, self.restart)
        for child in self.children:
            self.check_child(child)

    def check_child(self, child: ChildSpec | SupervisorSpec) -> None:
        """Raise ValueError if ``child`` is significant and this supervisor never shuts down
        automatically (Erlang/OTP refuses that combination too)."""
        if child.significant and self.auto_shutdown is AutoShutdown.NEVER:
            raise ValueError(
                f"supervisor {self.name!r}: child {child.name!r} is significant, which needs "
                "auto_shutdown ANY_SIGNIFICANT or ALL_SIGNIFICANT (it is NEVER)"
            )
