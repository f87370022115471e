"""Sans-io PyWatt wire protocol: message types, serde-compatible codecs and framing.

Nothing in this package does I/O, touches trio or reads a clock.
"""

from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._errors import WireError as WireError
