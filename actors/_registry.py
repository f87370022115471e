"""Per-system registry of actor names, and message protocols that names can carry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ._cell import Cell
from ._errors import DuplicateName, ProtocolMismatch

if TYPE_CHECKING:
    from ._timers import TimerService


@attrs.frozen
class Protocol:
    """A named set of message types. A name that carries a protocol only takes actors that
    accept every one of them: this is how a user's provider replaces a built-in one."""

    name: str
    messages: tuple[type[Any], ...]

    def missing_from(self, accepts: Iterable[type[Any]]) -> list[str]:
        """The protocol's message types that an actor accepting ``accepts`` would refuse."""
        accepted = tuple(accepts)
        if object in accepted:
            return []
        return [m.__qualname__ for m in self.messages if not issubclass(m, accepted)]


class Registry:
    """Maps names to the cells of live actors. One per actor system, never process-global."""

    __slots__ = ("_cells", "_protocols", "_waiters", "timers")

    def __init__(self, timers: TimerService) -> None:
        self.timers = timers
        self._cells: dict[str, Cell] = {}
        self._protocols: dict[str, Protocol] = {}
        self._waiters: dict[str, trio.Event] = {}

    def declare(self, name: str, protocol: Protocol) -> None:
        """Make ``name`` carry ``protocol``: every actor registered there must accept it."""
        self._protocols[name] = protocol
        cell = self._cells.get(name)
        if cell is not None:
            self.check_protocol(name, cell.accepts)

    def check_protocol(self, name: str, accepts: tuple[type[Any], ...]) -> None:
        """Raise :class:`ProtocolMismatch` if ``name`` carries a protocol ``accepts`` misses."""
        protocol = self._protocols.get(name)
        if protocol is not None:
            missing = protocol.missing_from(accepts)
            if missing:
                raise ProtocolMismatch(name, protocol.name, missing)

    def register(self, cell: Cell) -> None:
        """Add a name. Raises :class:`DuplicateName` or :class:`ProtocolMismatch`."""
        if cell.name in self._cells:
            raise DuplicateName(cell.name)
        self.check_protocol(cell.name, cell.accepts)
        self._cells[cell.name] = cell
        waiter = self._waiters.pop(cell.name, None)
        if waiter is not None:
            waiter.set()

    def unregister(self, cell: Cell) -> None:
        """Remove the name if it still maps to ``cell``."""
        if self._cells.get(cell.name) is cell:
            del self._cells[cell.name]

    def lookup(self, name: str) -> Cell | None:
        """The cell registered under ``name``, or None."""
        return self._cells.get(name)

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._cells)

    def names_with(self, protocol: Protocol) -> list[str]:
        """The registered names that carry ``protocol`` (every database, every cache, ...),
        in registration order."""
        return [name for name in self._cells if self._protocols.get(name) is protocol]

    async def wait_for(self, name: str) -> Cell:
        """Wait until ``name`` is registered and return its cell."""
        while True:
            cell = self._cells.get(name)
            if cell is not None:
                await trio.lowlevel.checkpoint()
                return cell
            waiter = self._waiters.get(name)
            if waiter is None:
                waiter = self._waiters[name] = trio.Event()
            await waiter.wait()
