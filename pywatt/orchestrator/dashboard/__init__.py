"""The gateway's dashboard at ``/_pywatt/``: a live view of the running system in the
browser (docs/observability.md). Static files shipped in the package, no build step."""

from ._access import TOKEN_ENV as TOKEN_ENV
from ._access import Access as Access
from ._access import DashboardSettings as DashboardSettings
from ._app import PREFIX as PREFIX
from ._app import Dashboard as Dashboard
from ._app import is_dashboard_path as is_dashboard_path
from ._app import start_dashboard as start_dashboard
from ._collect import COLLECTOR as COLLECTOR
from ._collect import TraceCollector as TraceCollector
from ._collect import span_intake as span_intake
from ._history import History as History
from ._latency import EndpointLatency as EndpointLatency
from ._traces import TraceRing as TraceRing
