"""actors: a supervised, typed actor runtime for trio.

Open a system, spawn actors under supervisors, and talk to them by name::

    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        await ref.tell(Increment())
        total = await ref.ask(GetTotal())

Send a long body to an actor with back-pressure: ``async with actors.open_stream(ref, offer)``
(docs/streams.md).
"""

from ._actor import Actor as Actor
from ._actor import ActorContext as ActorContext
from ._actor import DeferredReply as DeferredReply
from ._actor import TaskHandle as TaskHandle
from ._cell import ActorStatistics as ActorStatistics
from ._deadletters import DeadLetters as DeadLetters
from ._dispatch import Subscriptions as Subscriptions
from ._errors import ActorCrashed as ActorCrashed
from ._errors import ActorError as ActorError
from ._errors import ActorStopped as ActorStopped
from ._errors import AskTimeout as AskTimeout
from ._errors import DuplicateName as DuplicateName
from ._errors import MailboxFull as MailboxFull
from ._errors import NoSuchActor as NoSuchActor
from ._errors import ProtocolMismatch as ProtocolMismatch
from ._errors import ReplyTimeout as ReplyTimeout
from ._errors import RestartIntensityExceeded as RestartIntensityExceeded
from ._errors import StartFailed as StartFailed
from ._errors import SystemClosed as SystemClosed
from ._errors import UnacceptedMessage as UnacceptedMessage
from ._events import Events as Events
from ._events import EventSubscription as EventSubscription
from ._mailbox import Mailbox as Mailbox
from ._mailbox import MailboxStatistics as MailboxStatistics
from ._mailbox import OverflowPolicy as OverflowPolicy
from ._messages import Crashed as Crashed
from ._messages import DeadLetter as DeadLetter
from ._messages import DeadLetterReason as DeadLetterReason
from ._messages import Down as Down
from ._messages import Event as Event
from ._messages import GaveUp as GaveUp
from ._messages import LifecycleEvent as LifecycleEvent
from ._messages import Request as Request
from ._messages import Restarted as Restarted
from ._messages import Started as Started
from ._messages import Stopped as Stopped
from ._pending import PendingReplies as PendingReplies
from ._ref import ActorRef as ActorRef
from ._registry import Protocol as Protocol
from ._registry import Registry as Registry
from ._specs import AutoShutdown as AutoShutdown
from ._specs import Backoff as Backoff
from ._specs import ChildSpec as ChildSpec
from ._specs import Restart as Restart
from ._specs import Strategy as Strategy
from ._specs import SupervisorSpec as SupervisorSpec
from ._stream import InboundStream as InboundStream
from ._stream import OutboundStream as OutboundStream
from ._stream import StreamAborted as StreamAborted
from ._stream import StreamAbortReason as StreamAbortReason
from ._stream import StreamStatistics as StreamStatistics
from ._stream import open_stream as open_stream
from ._supervisor import Supervisor as Supervisor
from ._system import ActorSystem as ActorSystem
from ._system import open_actor_system as open_actor_system
from ._timers import Timer as Timer
from ._tracing import AskTracer as AskTracer
from ._tracing import ask_tracer as ask_tracer
from ._tracing import set_ask_tracer as set_ask_tracer
from ._tree import NodeKind as NodeKind
from ._tree import NodeState as NodeState
from ._tree import TreeNode as TreeNode
