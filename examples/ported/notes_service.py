"""A notes API written for the reference Python SDK (Phase 1 style), ported to pywatt by
changing its import line to ``pywatt.compat``.

What it uses of the reference API: ``@pywatt_module`` with ``secrets``, ``rotate``,
``endpoints``, ``health``, ``metrics``, ``framework`` and a ``state_builder(init_data,
secrets)`` that reads the secrets as a list of objects (``secrets[0].expose_secret()``);
``state.custom()``; the ``info`` log helper. Like every reference module it never calls a
run function: the decorator runs it.

    pywatt run examples/ported/notes_service.py --secret NOTES_API_KEY=...
"""

from typing import Any

from fastapi import FastAPI, Header, HTTPException

from pywatt.compat import AnnouncedEndpoint, AppState, info, pywatt_module


class NotesState:
    """The module's own state: the API key callers must send, and the notes."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.notes: list[dict[str, Any]] = []
        self.requests = 0


def build_state(init_data, secrets) -> NotesState:
    # The reference SDK hands the secrets over in the order they were asked for.
    return NotesState(api_key=secrets[0].expose_secret())


@pywatt_module(
    secrets=["NOTES_API_KEY"],
    rotate=True,
    endpoints=[
        AnnouncedEndpoint(path="/notes", methods=["GET", "POST"]),
        AnnouncedEndpoint(path="/notes/{note_id}", methods=["GET"]),
    ],
    health="/health",
    metrics=True,
    framework="fastapi",
    state_builder=build_state,
)
async def create_app(state: AppState[NotesState]) -> FastAPI:
    info(f"notes service starting as {state.module_id}")
    app = FastAPI(title="notes")

    def check(api_key: str) -> NotesState:
        notes = state.custom()
        notes.requests += 1
        if api_key != notes.api_key:
            raise HTTPException(status_code=403, detail="wrong API key")
        return notes

    @app.get("/notes")
    async def list_notes(x_api_key: str = Header("")) -> dict[str, Any]:
        return {"notes": check(x_api_key).notes}

    @app.post("/notes", status_code=201)
    async def add_note(note: dict[str, Any], x_api_key: str = Header("")) -> dict[str, Any]:
        notes = check(x_api_key)
        entry = {"id": len(notes.notes) + 1, "text": str(note.get("text", ""))}
        notes.notes.append(entry)
        info("note added", note_id=entry["id"])
        return entry

    @app.get("/notes/{note_id}")
    async def get_note(note_id: int, x_api_key: str = Header("")) -> dict[str, Any]:
        for entry in check(x_api_key).notes:
            if entry["id"] == note_id:
                return entry
        raise HTTPException(status_code=404, detail="no such note")

    return app
