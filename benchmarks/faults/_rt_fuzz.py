"""Fuzzed input at the orchestrator's listeners, with a fixed seed: random and mutated frames
from an unauthenticated peer (the callee's TCP port and Unix socket: only the first-frame
check ever sees them) and from an authenticated one (a bystander module's listener, entered
with that module's token: every frame reaches the decoders, the hub and, routed on, the
modules), and random and mutated lines at the control socket. The listeners, the control
socket and the real traffic must all come through, and a peer sending garbage must cost a
log line per connection, not one per frame.

Mutations follow tests/fuzz: valid encodings of the messages a module sends, taken apart as
JSON trees and changed structurally (a field dropped, a value replaced by any JSON value, a
key added, an integer pushed out of range, nesting thousands deep), then framed with a valid
header, or with bytes flipped, cut short, given a wrong format code or an absurd length.
"""

from __future__ import annotations

import json
import random
import struct
import uuid
from typing import Any, Final

import trio

from pywatt.channels import declaration_frame, encode_module_frame, route_frame
from pywatt.orchestrator import send_command
from pywatt.orchestrator.control import control_path
from pywatt.wire import (
    DiscoverServiceProvidersRequest,
    EncodedMessage,
    EncodingFormat,
    HealthStatus,
    HeartbeatAck,
    HeartbeatRequest,
    Message,
    ModuleDeclaration,
    ModuleInfo,
    RegisterServiceProviderRequest,
    RegistrationRequest,
    ServiceType,
)

from ._counts import Counts
from ._rt_run import DRIVER, TARGET, Run, open_run, serving_control

BYSTANDER: Final = "bystander"
_HEADER: Final = struct.Struct(">IB")
_EDGE_INTS: Final = (-(2**63) - 1, -1, 2**32, 2**64, 10**30, 2**200)


def _seeds() -> list[Any]:
    """JSON trees of valid module→orchestrator frames (what the mutations start from)."""
    payload = EncodedMessage(data=b'{"i":1}', format=EncodingFormat.JSON)
    frames = [
        declaration_frame(ModuleDeclaration(version="0.1.0", auth_token="x" * 32)),
        route_frame(TARGET, "echo", uuid.uuid4(), payload),
        route_frame(BYSTANDER, "echo", uuid.uuid4(), payload),
        route_frame("nobody", "pywatt.reply", uuid.uuid4(), payload),
        encode_module_frame(HeartbeatAck()),
        encode_module_frame(
            RegistrationRequest(module_info=ModuleInfo(name="f", version="1", description="")),
            as_type=Message[RegistrationRequest],
        ),
        encode_module_frame(
            HeartbeatRequest(module_id=uuid.uuid4(), token="t", status=HealthStatus.HEALTHY),
            as_type=Message[HeartbeatRequest],
        ),
        encode_module_frame(
            RegisterServiceProviderRequest(
                service_type=ServiceType.DATABASE, name="fuzz", address="127.0.0.1:1"
            )
        ),
        encode_module_frame(DiscoverServiceProvidersRequest(service_type=ServiceType.DATABASE)),
    ]
    return [json.loads(frame[_HEADER.size :]) for frame in frames]


SEEDS: Final = _seeds()


class Fuzzer:
    """Fuzzed frames and control lines from one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        kind = rng.randrange(9 if depth < 3 else 6)
        if kind == 0:
            return None
        if kind == 1:
            return rng.choice([True, False])
        if kind == 2:
            return rng.choice([rng.randint(-1000, 1000), rng.choice(_EDGE_INTS)])
        if kind == 3:
            return rng.choice([0.5, -1e308, 1e-300])
        if kind in (4, 5):
            return self.text()
        if kind == 6:
            return [self.value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 7:
            return {self.text(): self.value(depth + 1) for _ in range(rng.randrange(4))}
        return rng.choice(SEEDS)

    def text(self) -> str:
        rng = self.rng
        alphabet = 'ab_-:/{}"\\é🔑\x00\n op_idcontent'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))

    def mutate(self, node: Any) -> Any:
        rng = self.rng
        if isinstance(node, dict) and node and rng.random() < 0.8:
            key = rng.choice(sorted(node))
            changed = dict(node)
            action = rng.randrange(5)
            if action == 0:
                del changed[key]
            elif action == 1:
                changed[key] = self.value()
            elif action == 2:
                changed[key] = self.mutate(node[key])
            elif action == 3:
                changed[self.text()] = self.value()
            else:
                changed[key] = rng.choice(_EDGE_INTS)
            return changed
        if isinstance(node, list) and node:
            changed_list = list(node)
            i = rng.randrange(len(node))
            changed_list[i] = self.mutate(node[i]) if rng.random() < 0.5 else self.value()
            return changed_list
        return self.value()

    def payload(self) -> bytes:
        rng = self.rng
        tree = rng.choice(SEEDS)
        for _ in range(rng.randint(1, 3)):
            tree = self.mutate(tree)
        text = json.dumps(tree, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.05:  # nested far deeper than any decoder should recurse
            depth = rng.randint(100, 5000)
            text = text.replace("{", "[" * depth + "{", 1).replace("}", "}" + "]" * depth, 1)
        return text.encode()

    def frame(self) -> bytes:
        """One fuzzed frame: mostly a mutated message behind a valid header."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            payload = self.payload()
            return _HEADER.pack(len(payload), 1) + payload
        if roll < 0.7:  # any bytes, any format code
            payload = rng.randbytes(rng.randrange(200))
            return _HEADER.pack(len(payload), rng.randrange(8)) + payload
        if roll < 0.8:  # a valid message in another format code
            payload = self.payload()
            return _HEADER.pack(len(payload), rng.choice([2, 3, 4])) + payload
        if roll < 0.9:  # bytes flipped anywhere, the header included
            frame = bytearray(_HEADER.pack(0, 1) + self.payload())
            _HEADER.pack_into(frame, 0, len(frame) - _HEADER.size, 1)
            for _ in range(rng.randint(1, 4)):
                frame[rng.randrange(len(frame))] = rng.randrange(256)
            return bytes(frame)
        if roll < 0.95:  # an absurd length
            return _HEADER.pack(rng.choice([2**31, 2**32 - 1, 17 * 2**20]), 1) + b"{}"
        payload = self.payload()  # cut short
        return (_HEADER.pack(len(payload), 1) + payload)[: rng.randrange(1, len(payload) + 5)]

    def control_line(self) -> bytes:
        """A fuzzed control request (never a valid ``stop`` or a rotation of a real secret)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            seed: dict[str, Any] = rng.choice(
                [
                    {"command": "status"},
                    {"command": "rotate", "name": "FUZZ_NAME", "value": "v", "timeout": 1},
                    {"command": "reload", "timeout": 1},
                ]
            )
            tree = self.mutate(seed)
            if isinstance(tree, dict) and tree.get("command") == "stop":
                tree["command"] = "status"
            if isinstance(tree, dict) and tree.get("name") not in (None, "FUZZ_NAME"):
                tree["name"] = "FUZZ_NAME"
            line = json.dumps(tree).encode()
        elif roll < 0.8:
            line = rng.randbytes(rng.randrange(300))
        else:
            line = self.text().encode()
        ending = rng.choice([b"\n", b"\r\n", b"", b"\n\n"])
        return line.replace(b"\n", b" ") + ending


async def _drain(stream: trio.abc.Stream, seconds: float) -> None:
    """Read (and drop) what the orchestrator writes until it closes or ``seconds`` pass."""
    with trio.move_on_after(seconds):
        try:
            while await stream.receive_some(65536):
                pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


async def _connect(run: Run, module_id: str, rng: random.Random) -> trio.abc.Stream:
    ep = run.orch.endpoints(module_id)
    if rng.random() < 0.5 and ep.socket_path is not None:
        return await trio.open_unix_socket(ep.socket_path)
    assert ep.tcp_port is not None
    return await trio.open_tcp_stream("127.0.0.1", ep.tcp_port)


class _Tally:
    def __init__(self) -> None:
        self.connections = 0


async def _unauthenticated(run: Run, fuzz: Fuzzer, until: float, tally: _Tally) -> None:
    """Fuzzed first frames at the callee's listeners: each connection must be refused."""
    while trio.current_time() < until:
        stream = await _connect(run, TARGET, fuzz.rng)
        tally.connections += 1
        async with stream:
            try:
                for _ in range(fuzz.rng.randint(1, 4)):
                    await stream.send_all(fuzz.frame())
                    run.counts.faults_injected += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # closed on us: what a refusal looks like
            await _drain(stream, 0.3)


async def _authenticated(run: Run, fuzz: Fuzzer, until: float, tally: _Tally) -> None:
    """Fuzzed frames from a peer holding the bystander's token, until it is closed."""
    token = run.orch.endpoints(BYSTANDER).token
    while trio.current_time() < until:
        stream = await _connect(run, BYSTANDER, fuzz.rng)
        tally.connections += 1
        async with stream, trio.open_nursery() as nursery:
            nursery.start_soon(_drain, stream, 5.0)
            try:
                await stream.send_all(
                    declaration_frame(ModuleDeclaration(version="0.1.0", auth_token=token))
                )
                for _ in range(fuzz.rng.randint(5, 60)):
                    await stream.send_all(fuzz.frame())
                    run.counts.faults_injected += 1
                    await trio.sleep(0.001)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            nursery.cancel_scope.cancel()


async def _control_lines(run: Run, fuzz: Fuzzer, path: str, until: float) -> None:
    """Fuzzed lines at the control socket (as its owner): each gets an answer or a close."""
    while trio.current_time() < until:
        stream = await trio.open_unix_socket(path)
        async with stream:
            try:
                await stream.send_all(fuzz.control_line())
                run.counts.faults_injected += 1
                await stream.send_eof()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            await _drain(stream, 2.0)


async def fuzzed_frames(budget: float, counts: Counts) -> None:
    """Fuzz every listener while the driver and the orchestrator send traffic to the
    target; nothing may fail, and the fuzzed listeners must still serve their owners."""
    async with (
        open_run(counts, (TARGET, DRIVER, BYSTANDER)) as run,
        serving_control(run) as run_dir,
        trio.open_nursery() as nursery,
    ):
        await run.start_traffic(TARGET)
        stop = trio.Event()
        nursery.start_soon(run.direct_traffic, TARGET, (), stop)
        until = trio.current_time() + budget
        tally = _Tally()
        async with trio.open_nursery() as fuzzing:
            fuzzing.start_soon(_unauthenticated, run, Fuzzer(11), until, tally)
            fuzzing.start_soon(_authenticated, run, Fuzzer(12), until, tally)
            fuzzing.start_soon(_control_lines, run, Fuzzer(13), control_path(run_dir), until)
        await run.wait_resumed(what="traffic after the fuzzing")
        stop.set()
        await run.finish_traffic(())
        await _still_serving(run, run_dir, tally)


async def _still_serving(run: Run, run_dir: str, tally: _Tally) -> None:
    """The fuzzed listeners still serve their owners, and the garbage cost few log lines."""
    orch = run.orch
    try:
        with trio.fail_after(10):
            reply = await run.control(BYSTANDER, "echo", {"i": 1})
            if reply != {"from": BYSTANDER, "echo": {"i": 1}}:
                run.failure(f"the bystander answered {reply!r}")
            await orch.wait_channels(BYSTANDER, 2)
    except trio.TooSlowError:
        run.failure("the bystander lost its channels to the fuzzing")
    status = await send_command(run_dir, {"command": "status"})
    if not status.get("ok"):
        run.failure(f"the control socket stopped answering: {status}")
    lines = run.own_warnings
    if lines > 2 * tally.connections + 10:
        run.failure(f"{lines} warnings for {tally.connections} fuzzing connections")
