"""Channels: the module's framed TCP and Unix-socket connections to its orchestrator.

Each connection is an actor under its own supervisor, whose restart delay and limit are the
channel's reconnect policy (:class:`NoReconnect`, :class:`FixedInterval`,
:class:`ExponentialBackoff`). Frames follow ``pywatt.wire``; heartbeats are answered on the
connection they arrive on; a silent orchestrator, a broken length prefix or an oversized
frame closes the connection and it reconnects; TLS and the auth token follow
docs/architecture.md, decision 8. :class:`ChannelDirectory` picks the connection for a frame by
the channel preferences, with failover between TCP and the Unix socket. One channels actor
(``pywatt.channels.directory``) owns the directory and answers :class:`Send`,
:class:`Subscribe`, :class:`ChannelHealth` and :class:`GetWriter`; the :class:`Writer` it
hands out is the one way to append frames to a connection's :class:`Outbox` without a
message per frame (the router's path); ``route_frame`` / ``parse_route`` /
``parse_routed`` & co. write and read the routing frames of inter-module requests fast,
byte-exact with ``pywatt.wire`` (anything not in the canonical form is left to it).
"""

from ._actor import CHANNELS_ACTOR as CHANNELS_ACTOR
from ._actor import ChannelFailed as ChannelFailed
from ._actor import ChannelHealth as ChannelHealth
from ._actor import ChannelsActor as ChannelsActor
from ._actor import Connection as Connection
from ._actor import GetWriter as GetWriter
from ._actor import Send as Send
from ._actor import Subscribe as Subscribe
from ._actor import Writer as Writer
from ._actor import WriterRevoked as WriterRevoked
from ._config import ChannelConfig as ChannelConfig
from ._config import ChannelOptions as ChannelOptions
from ._config import TlsSettings as TlsSettings
from ._config import channel_configs as channel_configs
from ._config import channel_options as channel_options
from ._config import preferences_from_dict as preferences_from_dict
from ._connection import ChannelConnection as ChannelConnection
from ._connection import ChannelInbound as ChannelInbound
from ._connection import ConnectionLost as ConnectionLost
from ._connection import Opener as Opener
from ._connection import ReplySink as ReplySink
from ._connection import SendFrame as SendFrame
from ._connection import StreamSink as StreamSink
from ._connection import open_channel_stream as open_channel_stream
from ._directory import ChannelDirectory as ChannelDirectory
from ._directory import ChannelState as ChannelState
from ._directory import ChannelStatistics as ChannelStatistics
from ._directory import ConnectionStatus as ConnectionStatus
from ._errors import ChannelBroken as ChannelBroken
from ._errors import ChannelConfigError as ChannelConfigError
from ._errors import ChannelError as ChannelError
from ._errors import ChannelGaveUp as ChannelGaveUp
from ._errors import ChannelProtocolError as ChannelProtocolError
from ._errors import NoChannel as NoChannel
from ._errors import PeerSilent as PeerSilent
from ._frames import declaration_frame as declaration_frame
from ._frames import encode_module_frame as encode_module_frame
from ._frames import heartbeat_ack_frame as heartbeat_ack_frame
from ._line_connection import FENCE_TIMEOUT as FENCE_TIMEOUT
from ._line_connection import STALL_LIMIT as STALL_LIMIT
from ._line_connection import LineConnection as LineConnection
from ._lines import LINES_ACTOR as LINES_ACTOR
from ._lines import LineBook as LineBook
from ._lines import LinesActor as LinesActor
from ._lines import LineSettings as LineSettings
from ._lines import declare_lines as declare_lines
from ._lines import line_settings as line_settings
from ._lines import line_socket_path as line_socket_path
from ._messages import LineReady as LineReady
from ._outbox import HIGH_WATER as HIGH_WATER
from ._outbox import Outbox as Outbox
from ._pass_end import PassEnd as PassEnd
from ._pass_end import at_pass_end as at_pass_end
from ._policy import LOCAL_MAX_DELAY as LOCAL_MAX_DELAY
from ._policy import ExponentialBackoff as ExponentialBackoff
from ._policy import FixedInterval as FixedInterval
from ._policy import NoReconnect as NoReconnect
from ._policy import ReconnectPolicy as ReconnectPolicy
from ._policy import default_policy as default_policy
from ._policy import is_local_address as is_local_address
from ._policy import policy_from_dict as policy_from_dict
from ._receive import SocketReader as SocketReader
from ._routeframes import RawRoute as RawRoute
from ._routeframes import parse_route as parse_route
from ._routeframes import parse_routed as parse_routed
from ._routeframes import payload_json as payload_json
from ._routeframes import random_uuid as random_uuid
from ._routeframes import route_budget_ms as route_budget_ms
from ._routeframes import route_frame as route_frame
from ._routeframes import routed_message_frame as routed_message_frame
from ._routeframes import routed_response_frame as routed_response_frame
from ._routeframes import uuid4_text as uuid4_text
from ._send_buffers import IOV_MAX as IOV_MAX
from ._send_buffers import drop_written as drop_written
from ._send_buffers import send_buffers as send_buffers
from ._send_buffers import write_now as write_now
from ._serial import LineExpired as LineExpired
from ._serial import Outgoing as Outgoing
from ._serial import SerialRequests as SerialRequests
from ._serve_http import HTTP_ACTOR as HTTP_ACTOR
from ._serve_http import ServeHttp as ServeHttp
from ._subscriptions import Subscriptions as Subscriptions
from ._subscriptions import service_subscriptions as service_subscriptions
from ._tree import CHANNELS as CHANNELS
from ._tree import channels_supervisor_spec as channels_supervisor_spec
from ._tree import connection_name as connection_name
from ._view import ChannelView as ChannelView
