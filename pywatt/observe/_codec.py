"""Events and trees as JSON: one cattrs converter, events tagged by ``kind``."""

from __future__ import annotations

from typing import Any, Final

import cattrs

import actors

from ._events import (
    ChannelChanged,
    EventsDropped,
    ModuleEvent,
    ModuleStateChanged,
    RemoteFailure,
    SecretsRotated,
)

__all__ = [
    "EVENT_KINDS",
    "UnknownEvent",
    "describe_event",
    "event_from_json",
    "event_to_json",
    "tree_from_json",
    "tree_to_json",
]

EVENT_KINDS: Final[dict[str, type[actors.Event]]] = {
    "started": actors.Started,
    "stopped": actors.Stopped,
    "crashed": actors.Crashed,
    "restarted": actors.Restarted,
    "gave_up": actors.GaveUp,
    "secret_rotated": SecretsRotated,
    "channel_changed": ChannelChanged,
    "module_state": ModuleStateChanged,
    "events_dropped": EventsDropped,
}
"""The ``kind`` of each event type that crosses a process boundary."""

_KIND_OF: Final = {cls: kind for kind, cls in EVENT_KINDS.items()}


class UnknownEvent(ValueError):
    """JSON that is not an event of a known ``kind`` (say, from a newer module)."""


def _failure_text(error: BaseException) -> str:
    if isinstance(error, RemoteFailure):
        return error.text
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


_converter = cattrs.Converter()
_converter.register_unstructure_hook(BaseException, _failure_text)
_converter.register_structure_hook(BaseException, lambda value, _: RemoteFailure(str(value)))


def event_to_json(event: actors.Event) -> dict[str, Any]:
    """``event`` as a JSON object: ``kind`` first, then its fields; an exception becomes its
    ``Type: message`` text, ``at`` its wall-clock time. Raises :class:`UnknownEvent` for a
    type with no kind (an application's own event class)."""
    kind = _KIND_OF.get(type(event))
    if kind is None:
        raise UnknownEvent(f"{type(event).__qualname__} has no event kind")
    data: dict[str, Any] = {"kind": kind}
    data.update(_converter.unstructure(event))
    return data


def event_from_json(data: Any) -> actors.Event:
    """The event ``data`` describes (see :func:`event_to_json`); an exception field becomes a
    :class:`RemoteFailure`. Raises :class:`UnknownEvent` for anything else."""
    if not isinstance(data, dict):
        raise UnknownEvent(f"an event is a JSON object, not {type(data).__name__}")
    cls = EVENT_KINDS.get(data.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        raise UnknownEvent(f"unknown event kind {data.get('kind')!r}")
    fields = {k: v for k, v in data.items() if k != "kind"}
    try:
        return _converter.structure(fields, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        raise UnknownEvent(f"a {data['kind']!r} event with bad fields: {exc}") from None


def tree_to_json(tree: actors.TreeNode) -> dict[str, Any]:
    """A supervision tree as JSON (enums as their values, ``children`` as lists)."""
    data: dict[str, Any] = _converter.unstructure(tree)
    return data


def tree_from_json(data: Any) -> actors.TreeNode:
    """The tree ``data`` describes. Raises ``ValueError`` naming what is wrong."""
    try:
        return _converter.structure(data, actors.TreeNode)
    except (cattrs.BaseValidationError, TypeError, KeyError) as exc:
        raise ValueError(f"not a supervision tree: {exc}") from None


def describe_event(event: actors.Event) -> str:
    """One line for people (``pywatt events``)."""
    match event:
        case ModuleEvent(module, inner):
            return f"{module}: {describe_event(inner)}"
        case actors.Started(name, incarnation):
            return f"{name} started (incarnation {incarnation})"
        case actors.Stopped(name, incarnation):
            return f"{name} stopped (incarnation {incarnation})"
        case actors.Crashed(name, incarnation, error):
            return f"{name} crashed (incarnation {incarnation}): {_failure_text(error)}"
        case actors.Restarted(name, incarnation, delay):
            return f"{name} restarting as incarnation {incarnation} in {delay:.2f} s"
        case actors.GaveUp(name, error):
            return f"{name} gave up: {_failure_text(error)}"
        case SecretsRotated(keys, rotation_id, outcome):
            acks = ", ".join(f"{m} {o}" for m, o in outcome.items())
            return f"rotated {', '.join(keys)} ({rotation_id})" + (f": {acks}" if acks else "")
        case ChannelChanged(channel, state, reason, module):
            whose = f" of {module}" if module else ""
            return f"channel {channel}{whose} {state}" + (f": {reason}" if reason else "")
        case ModuleStateChanged(module, state, previous, _, reason):
            return f"module {module} {previous} -> {state}" + (f" ({reason})" if reason else "")
        case EventsDropped(count):
            return f"{count} event(s) dropped here: a buffer was full"
    return repr(event)
