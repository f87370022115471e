"""Inter-module messaging: the router actor, its messages, remote refs and errors.

``pywatt.router`` sends ``route_to_module`` requests and notifications over the module's
channels and serves the endpoints registered with it (docs/architecture.md, decision 7; the wire
form is in docs/protocol-extensions.md §5). A failed request raises a :class:`RemoteError`
subclass a caller can catch: :class:`ModuleUnavailable`, :class:`NoSuchModule`,
:class:`NoSuchEndpoint` or :class:`RemoteCrash` (docs/calling-modules.md).
"""

from ._direct_replies import DirectReplies as DirectReplies
from ._direct_requests import DirectRequests as DirectRequests
from ._endpoints import Endpoints as Endpoints
from ._errors import BadReply as BadReply
from ._errors import BadTarget as BadTarget
from ._errors import MessageTooLarge as MessageTooLarge
from ._errors import ModuleUnavailable as ModuleUnavailable
from ._errors import NoSuchEndpoint as NoSuchEndpoint
from ._errors import NoSuchModule as NoSuchModule
from ._errors import RemoteCrash as RemoteCrash
from ._errors import RemoteError as RemoteError
from ._errors import RequestInterrupted as RequestInterrupted
from ._errors import RequestTimeout as RequestTimeout
from ._errors import RequestTooLarge as RequestTooLarge
from ._errors import RouterError as RouterError
from ._messages import ROUTER as ROUTER
from ._messages import ROUTER_PROTOCOL as ROUTER_PROTOCOL
from ._messages import EndpointHandler as EndpointHandler
from ._messages import EndpointsReady as EndpointsReady
from ._messages import GetRouterStatistics as GetRouterStatistics
from ._messages import RegisterHandler as RegisterHandler
from ._messages import RouterStatistics as RouterStatistics
from ._messages import SendMessage as SendMessage
from ._messages import SendRequest as SendRequest
from ._messages import UnregisterHandler as UnregisterHandler
from ._messages import parse_target as parse_target
from ._open import ModuleStream as ModuleStream
from ._open import open_module_stream as open_module_stream
from ._remote import RemoteRef as RemoteRef
from ._remote import reply_type_of as reply_type_of
from ._router import LOCAL_CHANNEL as LOCAL_CHANNEL
from ._router import NOTIFY_MARKER_VALUE as NOTIFY_MARKER_VALUE
from ._router import Router as Router
from ._router import router_spec as router_spec
from ._streaming import BODY_KIND as BODY_KIND
from ._streaming import REQUEST_KEY as REQUEST_KEY
from ._streaming import STREAM_THRESHOLD as STREAM_THRESHOLD
from ._streaming import StreamReply as StreamReply
from ._streaming import body_request_payload as body_request_payload
from ._streaming import pump as pump
from ._streaming import stream_reply_id as stream_reply_id
from ._streaming import surely_big as surely_big
from ._streams import RemoteInbound as RemoteInbound
from ._streams import RemoteOutbound as RemoteOutbound
from ._streams import StreamsUnsupported as StreamsUnsupported
from ._streams import StreamTable as StreamTable
