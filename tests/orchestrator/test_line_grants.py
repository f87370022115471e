"""The orchestrator's side of direct lines (protocol extensions §12), driven by raw clients
that declare themselves pywatt: a grant gives the asker the target's declared socket and a
ticket, and the target the same ticket first; a target that declared no line socket, the
asker itself, an unknown module and a second ask in quick succession are refused with a
reason; a client that did not declare itself pywatt is not answered at all."""

from __future__ import annotations

import json

import trio

from pywatt.channels import declaration_frame, encode_module_frame
from pywatt.orchestrator import ModuleKind, Orchestrator
from pywatt.wire import NEED_DATA, FrameDecoder, LineRequest, ModuleDeclaration

from .helpers import raw, running

FORMATS = frozenset({"json", "msgpack"})


class Client:
    """One raw connection to a module's Unix socket, as that module."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.decoder = FrameDecoder()

    async def next_op(self) -> dict[str, object]:
        """The next frame that is not a heartbeat, as JSON."""
        while True:
            frame = self.decoder.next_frame()
            if frame is NEED_DATA:
                data = await self.stream.receive_some(65536)
                assert data, "the orchestrator closed the connection"
                self.decoder.feed(data)
                continue
            op: dict[str, object] = json.loads(frame.payload)
            if op.get("op") != "heartbeat":
                return op

    async def ask(self, target: str) -> dict[str, object]:
        await self.stream.send_all(encode_module_frame(LineRequest(target_module_id=target)))
        return await self.next_op()


async def _client(orch: Orchestrator, module_id: str, line: str | None) -> Client:
    stream = await trio.open_unix_socket(orch.endpoints(module_id).socket_path or "")
    declared = ModuleDeclaration(version="0.1.0", formats=FORMATS, line=line)
    await stream.send_all(declaration_frame(declared))
    await orch.wait_channels(module_id)
    return Client(stream)


async def test_grants_refusals_and_the_pace_of_asking() -> None:
    foreign = ModuleKind.FOREIGN
    with trio.fail_after(30):
        async with running(raw("a", kind=foreign), raw("b", kind=foreign),
                           raw("c", kind=foreign)) as run:  # fmt: skip
            orch = run.orch
            for module in "abc":
                await orch.module(module).wait_announced()
            a = await _client(orch, "a", None)
            b = await _client(orch, "b", "/run/x/b.line.sock")
            c = await _client(orch, "c", None)  # pywatt, but takes no lines
            grant = await a.ask("b")
            assert grant["op"] == "line_grant"
            assert grant["target_module_id"] == "b"
            assert grant["address"] == "/run/x/b.line.sock"
            expect = await b.next_op()
            assert expect == {"op": "line_expect", "source_module_id": "a",
                              "ticket": grant["ticket"]}  # fmt: skip
            assert len(str(grant["ticket"])) >= 40  # 32 random bytes, base64url
            again = await a.ask("b")
            assert again["op"] == "line_refused"
            assert "less than" in str(again["reason"])
            await trio.sleep(0.3)
            assert (await a.ask("b"))["op"] == "line_grant"
            assert (await b.next_op())["op"] == "line_expect"
            for target, why in (
                ("c", "takes no direct lines"),
                ("a", "no line to itself"),
                ("zz", "no module 'zz'"),
            ):
                refused = await a.ask(target)
                assert refused["op"] == "line_refused", refused
                assert why in str(refused["reason"]), refused
            stats = await orch.routing_statistics()
            assert (stats.lines_granted, stats.lines_refused) == (2, 4)
            await c.stream.aclose()


async def test_a_client_that_is_not_pywatt_is_not_answered() -> None:
    foreign = ModuleKind.FOREIGN
    with trio.fail_after(30):
        async with running(raw("a", kind=foreign), raw("b", kind=foreign)) as run:
            orch = run.orch
            for module in "ab":
                await orch.module(module).wait_announced()
            b = await _client(orch, "b", "/run/x/b.line.sock")
            stream = await trio.open_unix_socket(orch.endpoints("a").socket_path or "")
            await orch.wait_channels("a")
            await stream.send_all(encode_module_frame(LineRequest(target_module_id="b")))
            with trio.move_on_after(0.5):  # nothing comes but heartbeats
                client = Client(stream)
                op = await client.next_op()
                raise AssertionError(f"a Rust-like client was answered {op}")
            stats = await orch.routing_statistics()
            assert (stats.lines_granted, stats.lines_refused) == (0, 0)
            await b.stream.aclose()
