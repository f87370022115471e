"""Backends as the module sees them: every database and cache actor reports where it stands
with its server on its system's :class:`BackendBoard`, which ``/health`` reads and the
module's start-up waits on. See docs/databases.md and docs/cache-backends.md ("When the
server is away")."""

from ._board import BackendBoard as BackendBoard
from ._board import backend_board as backend_board
from ._errors import BackendUnreachable as BackendUnreachable
from ._reporter import BackendReporter as BackendReporter
from ._startup import BACKEND_WAIT as BACKEND_WAIT
from ._startup import check_backends as check_backends
from ._status import BackendState as BackendState
from ._status import BackendStatus as BackendStatus
from ._status import one_line as one_line
