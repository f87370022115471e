"""Building the orchestrator's channel side from the manifest: endpoints, listeners, the hub,
TLS."""

from __future__ import annotations

import ssl
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Final

from actors import Backoff, ChildSpec, Strategy, SupervisorSpec
from pywatt.wire import SecurityLevel

from ..config import ModuleKind, ModuleSpec, TlsFiles
from ..console import Console
from ._hub import HUB_NAME, Hub
from ._hub_state import HubState
from ._listener import ChannelSettings, ModuleEndpoints, ModuleListener, listener_name

__all__ = [
    "HUBS",
    "LISTENERS",
    "exposure_lines",
    "hub_spec",
    "listeners_spec",
    "module_endpoints",
    "server_context",
]

LISTENERS = "pywatt.listeners"
HUBS = "pywatt.hubs"
HUB_BACKOFF: Final = Backoff(first=0.0, base=0.01, multiplier=2.0, cap=0.2, jitter=0.0)
"""The hub is restarted at once, and a hub that crashes again and again at most 0.2 s
apart: all routing waits while it is down. (The default backoff grows to 5 s.)"""


def hub_spec(
    console: Console,
    state: HubState,
    ports: dict[str, int],
    modules: Collection[str] | None = None,
) -> SupervisorSpec:
    """The hub under a supervisor of its own that restarts it without limit, each time with
    the same state (what listeners and modules told it, ``_hub_state``) and at once."""
    return SupervisorSpec(
        HUBS,
        [ChildSpec(HUB_NAME, lambda: Hub(console, state, ports, modules), mailbox_size=8192)],
        max_restarts=None,
        backoff=HUB_BACKOFF,
    )


def module_endpoints(spec: ModuleSpec) -> ModuleEndpoints:
    """The module's channel endpoints: nobody connects as it without its token.

    A pywatt module gets ``Token`` unless it asks for ``Mtls``, and TLS when it asks for it
    (decision 8). A foreign module cannot send a token, so it gets its owner-only Unix socket
    and a TCP port only when its spec opens one without a token (``SecurityLevel.NONE``,
    which ``ModuleSpec`` allows for foreign modules only; see :func:`exposure_lines`).
    """
    options = spec.channels
    if spec.kind is ModuleKind.PYWATT:
        return ModuleEndpoints(
            module_id=spec.id,
            tcp=options.tcp,
            ipc=options.ipc,
            tls=options.tls,
            security=options.security or SecurityLevel.TOKEN,
            required=options.required,
        )
    return ModuleEndpoints(
        module_id=spec.id,
        tcp=options.tcp and options.security is SecurityLevel.NONE,
        ipc=options.ipc,
        security=SecurityLevel.NONE,
        required=options.required,
    )


def exposure_lines(
    specs: Iterable[ModuleSpec], endpoints: Mapping[str, ModuleEndpoints]
) -> Iterator[tuple[str, str, bool]]:
    """What to say at start about foreign modules' TCP ports, as (module id, text, loud):
    loud for a port that takes connections without a token (once the listeners are bound),
    quiet for a TCP channel left off because the module cannot send one."""
    for spec in specs:
        if spec.kind is ModuleKind.PYWATT or not spec.channels.tcp:
            continue
        ep = endpoints[spec.id]
        if ep.tcp:
            yield (
                spec.id,
                f"INSECURE: the TCP channel of {spec.id} ({ep.tcp_address}) takes connections "
                'without the auth token, as its manifest entry asks (security = "none"): any '
                f"local user can connect there and act as {spec.id}",
                True,
            )
        else:
            yield (
                spec.id,
                f"{spec.id} is a foreign module and cannot send the auth token: it gets no TCP "
                'channel, only its owner-only Unix socket (security = "none" in its manifest '
                "entry would open TCP to anyone)",
                False,
            )


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The listeners' TLS context: our certificate; client certificates are requested and,
    when one is sent, verified (Mtls modules send one; the token level does not need one)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert_file, files.key_file)
    context.load_verify_locations(files.client_ca_file or files.ca_file)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


def listeners_spec(
    endpoints: Mapping[str, ModuleEndpoints], settings: ChannelSettings
) -> SupervisorSpec:
    """One listener per module under ``pywatt.listeners``: restarted at once, without limit
    (a listener that cannot bind keeps trying, spaced by a short backoff)."""
    children = []
    for module_id, ep in endpoints.items():
        if not (ep.tcp or ep.ipc):
            continue

        def factory(ep: ModuleEndpoints = ep) -> ModuleListener:
            return ModuleListener(ep, settings)

        children.append(ChildSpec(listener_name(module_id), factory, shutdown=2.0))
    return SupervisorSpec(
        LISTENERS,
        children,
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=None,
        backoff=Backoff(first=0.0, base=0.05, multiplier=2.0, cap=1.0, jitter=0.0),
        shutdown=10.0,
    )
