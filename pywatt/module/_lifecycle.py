"""The module's lifecycle actor: how a module stops, as messages.

``pywatt.lifecycle`` is the last child of the module's ``pywatt`` supervisor, and its one
*significant* child (``auto_shutdown=ANY_SIGNIFICANT``; ``pywatt`` is significant under the
system's root in turn). Whatever should stop the module tells it so:

- the orchestrator's ``shutdown`` on a channel (a ``ChannelInbound`` it subscribed to) or on
  stdin, or stdin closing (the link's :class:`~pywatt.link.LinkShutdown`);
- a required channel whose reconnect policy gave up (:class:`~pywatt.channels.ChannelFailed`);
- SIGTERM / SIGINT, a failed start-up, ``state.close()`` (:class:`ShutdownModule`).

It records why in the :class:`ModuleOutcome` (kept with its name; ``serve_module`` reads it
once the system has stopped), unregisters the module (bounded: the module is leaving), and
stops. Its stop is the module's: ``pywatt`` stops every other child in reverse order and
ends, and so does the root; the process then exits with the outcome's status.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Final

import attrs
import trio

import actors
from pywatt._errors import PywattError
from pywatt.channels import ChannelFailed, ChannelInbound
from pywatt.link import LinkShutdown
from pywatt.registrar import Unregister
from pywatt.wire import Shutdown

__all__ = ["LIFECYCLE", "ModuleLifecycle", "ModuleOutcome", "ShutdownModule"]

log = logging.getLogger("pywatt.module")

LIFECYCLE: Final = "pywatt.lifecycle"
"""The registry name of the module's lifecycle actor."""

UNREGISTER_WAIT = 2.0
"""Seconds a shutting-down module waits for the orchestrator to confirm unregistration."""


@attrs.frozen
class ShutdownModule:
    """Stop the module: ``reason`` is logged; ``failure`` (already logged by whoever sends
    it) makes the exit status a failure's."""

    reason: str
    failure: BaseException | None = attrs.field(default=None, eq=False)


@attrs.define
class ModuleOutcome:
    """Why the module stopped. Written by the lifecycle actor alone, read by
    ``serve_module`` after the actor system has stopped."""

    reason: str | None = None
    failure: BaseException | None = None


LifecycleMessage = ShutdownModule | ChannelInbound | ChannelFailed | LinkShutdown


class ModuleLifecycle(actors.Actor[LifecycleMessage]):
    """Registered as ``pywatt.lifecycle`` (see the module docstring)."""

    def __init__(self, outcome: ModuleOutcome, module_id: str, *, unregister: bool) -> None:
        self.outcome = outcome
        self.module_id = module_id
        self.unregister = unregister

    async def receive(self, message: LifecycleMessage) -> None:
        match message:
            case ShutdownModule(reason, failure):
                await self._stop_module(reason, failure)
            case LinkShutdown(reason):
                await self._stop_module(reason, None)
            case ChannelInbound(channel, Shutdown()):
                await self._stop_module(f"the orchestrator sent shutdown on channel {channel}")
            case ChannelFailed(_, error, required) if required:
                await self._stop_module(str(error), error)
            case _:
                pass  # a channel that is not required: the channels actor logged it

    async def _stop_module(self, reason: str, failure: BaseException | None = None) -> None:
        outcome = self.outcome
        if outcome.reason is not None:  # already stopping; a failure still counts
            if outcome.failure is None:
                outcome.failure = failure
            return
        outcome.reason, outcome.failure = reason, failure
        if failure is None:  # a failure was logged already, in one line
            log.info("module %s shutting down: %s", self.module_id, reason)
        if self.unregister:  # gracefully, before the tree stops
            with (
                trio.move_on_after(UNREGISTER_WAIT),
                contextlib.suppress(PywattError, actors.ActorError),
            ):
                await self.ctx.system.ask("pywatt.registrar", Unregister())
        self.ctx.stop()


def lifecycle_spec(
    outcome: ModuleOutcome, module_id: str, *, unregister: bool, shutdown: float
) -> actors.ChildSpec:
    """``pywatt.lifecycle``: transient and significant (its normal stop stops the module)."""
    return actors.ChildSpec(
        LIFECYCLE,
        lambda: ModuleLifecycle(outcome, module_id, unregister=unregister),
        restart=actors.Restart.TRANSIENT,
        significant=True,
        shutdown=shutdown,
    )
