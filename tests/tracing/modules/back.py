"""The back module of the tracing tests: endpoint ``lookup`` queries PostgreSQL
(``DATABASE_URL``) with the order number as a parameter; streamed endpoint ``store``
counts the bytes of a stream."""

from __future__ import annotations

import os
from typing import Any

from pywatt import AppState, run_module


async def main(state: AppState[Any]) -> None:
    async def lookup(request: Any) -> dict[str, Any]:
        row = await state.database.fetch_one(
            "SELECT CAST(? AS integer) * 2 AS doubled", [request["number"]]
        )
        assert row is not None
        return {"number": request["number"], "doubled": row["doubled"]}

    async def store(stream: Any) -> dict[str, int]:
        size = 0
        async for chunk in stream:
            size += len(chunk)
        return {"stored": size}

    await state.serve("lookup", lookup)
    await state.serve_stream("store", store)


if __name__ == "__main__":
    raise SystemExit(
        run_module(main, database_config={"url": os.environ["DATABASE_URL"]}, log_level="INFO")
    )
