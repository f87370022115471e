"""Building the orchestrator's channel side from the manifest: endpoints, listeners, TLS."""

from __future__ import annotations

import ssl
from collections.abc import Mapping

from actors import Backoff, ChildSpec, Strategy, SupervisorSpec
from pywatt.wire import SecurityLevel

from ._listener import ChannelSettings, ModuleEndpoints, ModuleListener, listener_name
from ._manifest import ModuleKind, ModuleSpec, TlsFiles

__all__ = ["LISTENERS", "listeners_spec", "module_endpoints", "server_context"]

LISTENERS = "pywatt.listeners"


def module_endpoints(spec: ModuleSpec) -> ModuleEndpoints:
    """The module's channel endpoints; TLS and the token only for pywatt modules (decision 8)."""
    options = spec.channels
    pywatt = spec.kind is ModuleKind.PYWATT
    return ModuleEndpoints(
        module_id=spec.id,
        tcp=options.tcp,
        ipc=options.ipc,
        tls=options.tls and pywatt,
        security=options.security if pywatt else SecurityLevel.NONE,
        required=options.required,
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
