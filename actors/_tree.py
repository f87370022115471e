"""A snapshot of the live supervision tree (``system.tree()``): plain data, cheap to take."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from ._mailbox import MailboxStatistics
from ._specs import ChildSpec, Restart, Strategy

if TYPE_CHECKING:
    from ._supervisor import Supervisor, _Child
    from ._system import ActorSystem


class NodeKind(enum.Enum):
    """What a node of the tree is."""

    ACTOR = "actor"
    SUPERVISOR = "supervisor"


class NodeState(enum.Enum):
    """Where a node is in its life."""

    RUNNING = "running"
    """An incarnation serves (for a supervisor: it supervises its children)."""
    STARTING = "starting"
    """An incarnation runs ``on_start`` (or a supervisor starts its children)."""
    RESTARTING = "restarting"
    """Its supervisor scheduled a new incarnation (backoff)."""
    STOPPED = "stopped"
    """No incarnation runs and none is scheduled."""


@attrs.frozen
class TreeNode:
    """One actor or supervisor of the tree, and (for a supervisor) its children in start order.

    Plain data: ``cattrs.unstructure`` turns a tree into JSON-ready dicts, enums as their
    values. ``mailbox`` is None for a supervisor (it has none); ``strategy`` None for an actor.
    """

    name: str
    kind: NodeKind
    state: NodeState
    incarnation: int
    """The number of the current (or last) incarnation; 0 before the first."""
    restarts: int
    """Restarts its supervisor scheduled for it so far."""
    restart: Restart
    strategy: Strategy | None = None
    mailbox: MailboxStatistics | None = None
    children: tuple[TreeNode, ...] = ()

    def walk(self) -> list[TreeNode]:
        """This node and every node below it, depth first, in start order."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

    def find(self, name: str) -> TreeNode | None:
        """The node called ``name`` at or below this one, or None."""
        for node in self.walk():
            if node.name == name:
                return node
        return None


def take_tree(system: ActorSystem) -> TreeNode:
    """The system's tree from its root supervisor. Reads the supervisors' records only."""
    root = system.root
    running = root._nursery is not None and not root._stopping
    return TreeNode(
        root.name,
        NodeKind.SUPERVISOR,
        NodeState.RUNNING if running else NodeState.STOPPED,
        incarnation=1,
        restarts=0,
        restart=root.spec.restart,
        strategy=root.spec.strategy,
        children=_children(root._children),
    )


def _children(roster: dict[str, _Child]) -> tuple[TreeNode, ...]:
    return tuple(_node(child) for child in list(roster.values()))


def _node(child: _Child) -> TreeNode:
    spec = child.spec
    if child.pending:
        state = NodeState.RESTARTING
    elif not child.running:
        state = NodeState.STOPPED
    elif child.cell is not None:
        state = NodeState.RUNNING if child.cell.ctx is not None else NodeState.STARTING
    else:
        supervisor: Supervisor | None = child.supervisor
        state = NodeState.STARTING if supervisor is None else NodeState.RUNNING
    if isinstance(spec, ChildSpec):
        assert child.cell is not None
        return TreeNode(
            spec.name,
            NodeKind.ACTOR,
            state,
            incarnation=child.incarnation,
            restarts=child.restarts,
            restart=spec.restart,
            mailbox=child.cell.mailbox.statistics(),
        )
    return TreeNode(
        spec.name,
        NodeKind.SUPERVISOR,
        state,
        incarnation=child.incarnation,
        restarts=child.restarts,
        restart=spec.restart,
        strategy=spec.strategy,
        children=_children(child.roster or {}),
    )
