"""The actor system: a root supervisor, a registry, dead letters and lifecycle events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio

from ._actor import Actor
from ._cell import ActorStatistics
from ._deadletters import DeadLetters
from ._errors import DuplicateName, NoSuchActor, SystemClosed
from ._events import Events
from ._mailbox import OverflowPolicy
from ._messages import DeadLetterReason, Request
from ._ref import ActorRef, make_ref
from ._registry import Protocol, Registry
from ._specs import ChildSpec, Restart, SupervisorSpec
from ._supervisor import Supervisor
from ._timers import TimerService
from ._tree import TreeNode, take_tree

R = TypeVar("R")


class ActorSystem:
    """One actor system: open it with :func:`open_actor_system`.

    Names are scoped to the system: two systems in one process never collide.
    """

    def __init__(self, root: SupervisorSpec) -> None:
        self.timers = TimerService()
        self.registry = Registry(self.timers)
        self.dead_letters = DeadLetters()
        self.events = Events()
        self._supervisors: dict[str, Supervisor] = {}
        self._anonymous = 0
        self._handling_observer: Callable[[str, float], None] | None = None
        self.root = Supervisor(root, self)
        self._add_supervisor(self.root)

    # -- refs ------------------------------------------------------------------------------

    def ref(self, name: str) -> ActorRef[Any]:
        """A ref to the actor registered as ``name``. Raises :class:`NoSuchActor`."""
        cell = self.registry.lookup(name)
        if cell is None:
            raise NoSuchActor(name)
        return make_ref(self.registry, cell)

    def lookup(self, name: str) -> ActorRef[Any] | None:
        """A ref to the actor registered as ``name``, or None if there is none. Does not block.

        An actor is registered from its first start until it is stopped for good, restarts
        included: :meth:`statistics` says whether an incarnation is serving right now.
        """
        cell = self.registry.lookup(name)
        return None if cell is None else make_ref(self.registry, cell)

    async def wait_for(self, name: str) -> ActorRef[Any]:
        """Wait until an actor is registered as ``name``; returns a ref to it."""
        return make_ref(self.registry, await self.registry.wait_for(name))

    def statistics(self, name: str) -> ActorStatistics:
        """A snapshot of the actor registered as ``name``: whether an incarnation is serving
        (and which), and its mailbox's statistics. Raises :class:`NoSuchActor`."""
        cell = self.registry.lookup(name)
        if cell is None:
            raise NoSuchActor(name)
        return cell.statistics()

    def tree(self) -> TreeNode:
        """A snapshot of the live supervision tree, from the root supervisor down: each
        actor and supervisor with its kind, state, incarnation, restarts, restart type,
        strategy (supervisors) and mailbox statistics (actors). Does not block; costs a walk
        over the supervisors' records, no message to any actor."""
        return take_tree(self)

    def tell_nowait(self, name: str, message: object) -> None:
        """Send a one-way message by name, without blocking.

        If nothing is registered as ``name`` the message is dead-lettered (reason NO_SUCH_ACTOR)
        and this returns: a tell is fire-and-forget. Otherwise as :meth:`ActorRef.tell_nowait`.
        """
        cell = self.registry.lookup(name)
        if cell is None:
            self.dead_letters.record(name, message, DeadLetterReason.NO_SUCH_ACTOR)
            return
        make_ref(self.registry, cell).tell_nowait(message)

    async def tell(self, name: str, message: object) -> None:
        """Send a one-way message by name; as :meth:`tell_nowait` but waits for room."""
        cell = self.registry.lookup(name)
        if cell is None:
            await trio.lowlevel.checkpoint()
            self.dead_letters.record(name, message, DeadLetterReason.NO_SUCH_ACTOR)
            return
        await make_ref(self.registry, cell).tell(message)

    async def ask(
        self,
        name: str,
        message: Request[R],
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> R:
        """Ask by name. Raises :class:`NoSuchActor` (after dead-lettering the request) if
        nothing is registered as ``name``; otherwise as :meth:`ActorRef.ask` (``timeout`` and
        ``deadline`` likewise)."""
        cell = self.registry.lookup(name)
        if cell is None:
            await trio.lowlevel.checkpoint()
            self.dead_letters.record(name, message, DeadLetterReason.NO_SUCH_ACTOR)
            raise NoSuchActor(name)
        ref: ActorRef[Any] = make_ref(self.registry, cell)
        if timeout is None and deadline is None:
            return await ref.ask(message)
        return await ref.ask(message, timeout=timeout, deadline=deadline)

    def declare(self, name: str, protocol: Protocol) -> None:
        """Make ``name`` carry ``protocol``: any actor registered there must accept all of its
        messages (:class:`ProtocolMismatch` otherwise)."""
        self.registry.declare(name, protocol)

    # -- instrumentation -------------------------------------------------------------------

    def observe_handling(self, observer: Callable[[str, float], None] | None) -> None:
        """Call ``observer(name, seconds)`` after each message an actor of this system handles.

        ``seconds`` is the time spent in ``receive`` (a deferred reply's wait is not counted;
        a handler that crashes is not reported). Meant for metrics: the observer runs on the
        actor's task, so it must be cheap and must not raise. One observer per system; a new
        one replaces the last, None turns observation off. Actors pick the change up the next
        time they wake. Does not block.
        """
        self._handling_observer = observer

    # -- starting and stopping -------------------------------------------------------------

    async def spawn(
        self,
        factory: Callable[[], Actor[Any]],
        *,
        name: str | None = None,
        restart: Restart = Restart.PERMANENT,
        mailbox_size: int = 1024,
        overflow: OverflowPolicy = OverflowPolicy.WAIT,
        shutdown: float = 5.0,
        protocol: Protocol | None = None,
        supervisor: str | None = None,
    ) -> ActorRef[Any]:
        """Start an actor under the root supervisor (or the named one) and return its ref.

        Returns once its ``on_start`` has run. Without a name, a unique one is made from the
        factory's name. Raises :class:`DuplicateName`, :class:`ProtocolMismatch`,
        :class:`StartFailed` or :class:`SystemClosed`.
        """
        if name is None:
            self._anonymous += 1
            name = f"{getattr(factory, '__name__', 'actor')}-{self._anonymous}"
        spec = ChildSpec(
            name,
            factory,
            restart=restart,
            shutdown=shutdown,
            mailbox_size=mailbox_size,
            overflow=overflow,
            protocol=protocol,
        )
        owner = self.root if supervisor is None else self.supervisor(supervisor)
        await owner.start_child(spec)
        return self.ref(name)

    async def start_supervisor(
        self, spec: SupervisorSpec, *, parent: str | None = None
    ) -> Supervisor:
        """Start a supervisor tree under the root (or ``parent``); returns it once its children
        have started."""
        owner = self.root if parent is None else self.supervisor(parent)
        await owner.start_child(spec)
        return self.supervisor(spec.name)

    def supervisor(self, name: str) -> Supervisor:
        """The running supervisor called ``name``. Raises :class:`NoSuchActor`."""
        try:
            return self._supervisors[name]
        except KeyError:
            raise NoSuchActor(name) from None

    async def stop(self, name: str) -> None:
        """Stop the actor or supervisor ``name`` for good, gracefully. Raises NoSuchActor."""
        for supervisor in list(self._supervisors.values()):
            if name in supervisor.children():
                await supervisor.stop_child(name)
                return
        raise NoSuchActor(name)

    # -- bookkeeping used by supervisors ---------------------------------------------------

    def _add_supervisor(self, supervisor: Supervisor) -> None:
        if supervisor.name in self._supervisors or self.registry.lookup(supervisor.name):
            raise DuplicateName(supervisor.name)
        self._supervisors[supervisor.name] = supervisor

    def _has_supervisor(self, name: str) -> bool:
        return name in self._supervisors

    def _forget_supervisor(self, supervisor: Supervisor) -> None:
        if self._supervisors.get(supervisor.name) is supervisor:
            del self._supervisors[supervisor.name]


@asynccontextmanager
async def open_actor_system(root: SupervisorSpec | None = None) -> AsyncIterator[ActorSystem]:
    """Open an actor system whose root supervisor follows ``root`` (one_for_one by default).

    On exit every actor is stopped gracefully, in reverse start order. If the root supervisor
    gives up (restart intensity exceeded) while the body runs, the body is cancelled and
    :class:`RestartIntensityExceeded` is raised from here, unwrapped. If it shuts itself down
    (its ``auto_shutdown`` rule: its significant children ended), the body is cancelled and
    the block ends normally.
    """
    system = ActorSystem(root or SupervisorSpec("root", max_restarts=None))
    failure: BaseException | None = None
    body_error: BaseException | None = None

    async def run_root(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal failure
        started = False

        def on_started(value: None = None) -> None:
            nonlocal started
            started = True
            task_status.started()

        status: Any = type("_Status", (), {"started": staticmethod(on_started)})()
        try:
            await system.root.run(task_status=status)
        except Exception as exc:  # the root's failure is the system's: re-raised below
            failure = exc
            if not started:
                task_status.started()
        finally:
            nursery.cancel_scope.cancel()  # the body (if still running) and the timer task

    async with trio.open_nursery() as nursery:
        await nursery.start(system.timers.run)
        await nursery.start(run_root)
        if failure is None:
            try:
                yield system
            except BaseException as exc:  # re-raised after shutdown, outside the nursery
                body_error = exc
            finally:
                if failure is None:
                    system.root.request_stop()
    if failure is not None:
        raise failure
    if body_error is not None:
        if system.root.auto_stopped and _only_cancelled(body_error):
            return  # the body was cancelled because the root shut itself down
        raise body_error


def _only_cancelled(error: BaseException) -> bool:
    """Whether ``error`` is a ``trio.Cancelled``, or a group of nothing else."""
    if isinstance(error, BaseExceptionGroup):
        return error.split(trio.Cancelled)[1] is None
    return isinstance(error, trio.Cancelled)


__all__ = ["ActorSystem", "SystemClosed", "open_actor_system"]
