"""Observability: pywatt's own events, and events and supervision trees as JSON.

The events of a module (its actors' lifecycle, secret rotations, channel changes) and of the
orchestrator (module state changes, rotations) are one typed stream, ``system.events``
(docs/observability.md); this package holds the event types pywatt adds to the runtime's and
the JSON form in which they cross processes.
"""

from ._codec import EVENT_KINDS as EVENT_KINDS
from ._codec import UnknownEvent as UnknownEvent
from ._codec import describe_event as describe_event
from ._codec import event_from_json as event_from_json
from ._codec import event_to_json as event_to_json
from ._codec import tree_from_json as tree_from_json
from ._codec import tree_to_json as tree_to_json
from ._events import ChannelChanged as ChannelChanged
from ._events import EventsDropped as EventsDropped
from ._events import ModuleEvent as ModuleEvent
from ._events import ModuleStateChanged as ModuleStateChanged
from ._events import RemoteFailure as RemoteFailure
from ._events import SecretsRotated as SecretsRotated
