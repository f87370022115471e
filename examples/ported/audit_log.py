"""An audit log written for the reference Python SDK, ported to pywatt: a Flask app served
over IPC only (``bind_http=False``: the orchestrator's gateway reaches it, no port is
bound) that records what other modules send it.

Ported by changing the import line, plus one change the port needed: the reference SDK's
``register_module_message_handler`` has no pywatt counterpart (it raises ``NotSupported``
saying so), so the module serves the ``record`` endpoint with ``state.serve``.

    pywatt run examples/ported/audit_log.py
"""

import threading
from typing import Any

from flask import Flask, jsonify

from pywatt.compat import AnnouncedEndpoint, AppState, info, pywatt_module


class AuditTrail:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # Flask views run in worker threads
        self.records: list[dict[str, Any]] = []


@pywatt_module(
    endpoints=[AnnouncedEndpoint(path="/audit/records", methods=["GET"])],
    health="/health",
    framework="flask",
    bind_http=False,
    state_builder=lambda init_data, secrets: AuditTrail(),
)
async def create_app(state: AppState[AuditTrail]) -> Flask:
    trail = state.custom()

    def record(entry: dict[str, Any]) -> None:
        with trail.lock:
            trail.records.append(entry)
        info("audit record", action=entry.get("action"))

    await state.serve("record", record)

    app = Flask("audit")

    @app.get("/audit/records")
    def records() -> Any:
        with trail.lock:
            return jsonify({"records": list(trail.records)})

    return app
