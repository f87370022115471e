"""The orchestrator link: the module's one stdin reader and one stdout writer."""

from ._errors import InitBlobError as InitBlobError
from ._errors import LinkClosed as LinkClosed
from ._errors import LinkError as LinkError
from ._errors import PortNegotiationFailed as PortNegotiationFailed
from ._errors import ServiceFailed as ServiceFailed
from ._errors import StdioTimeout as StdioTimeout
from ._init import read_init_blob as read_init_blob
from ._link import StdioLink as StdioLink
from ._link import link_subscriptions as link_subscriptions
from ._messages import CallService as CallService
from ._messages import FetchRemoteSecret as FetchRemoteSecret
from ._messages import HttpOverStdio as HttpOverStdio
from ._messages import LinkShutdown as LinkShutdown
from ._messages import OpenService as OpenService
from ._messages import RequestPort as RequestPort
from ._messages import Send as Send
from ._messages import SendRaw as SendRaw
