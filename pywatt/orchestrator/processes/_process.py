"""The module-process actor: one module's process, its stdio protocol and its stop sequence.

One incarnation of :class:`ModuleProcess` owns one process. ``on_start`` reserves a listen
port, spawns the command with piped stdin/stdout/stderr and writes the InitBlob as the first
stdin line. Three tasks run beside the mailbox: the stdout reader (the only reader of the
module's protocol lines; each decoded message becomes a :class:`FromModule` in the mailbox),
the stderr reader (lines shown prefixed and redacted) and the exit watcher. The actor itself
is the only writer of stdin: every line is written whole from a handler, one at a time
(docs/architecture.md, decision 2), so an ack and the heartbeat after it are never split by
another line.

When the process ends without being asked to, the watcher puts a :class:`ProcessEnded` in
the mailbox behind the lines the module wrote before it died; handling it crashes the
incarnation (:class:`ModuleExited`), or stops it normally for exit code 0, and the module's
supervisor applies the restart policy. A graceful stop (``on_stop``) sends the shutdown line,
waits ``grace``, sends SIGTERM, waits ``term_grace``, then SIGKILL. If the incarnation is
cancelled instead, the watcher's ``finally`` kills the process group, so no process outlives
its actor.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shlex
import signal
import subprocess
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import trio

from actors import Actor, ActorError, ActorRef, PendingReplies, Request, Restart
from pywatt.observe import tree_from_json
from pywatt.wire import (
    DEFAULT_MAX_LINE,
    ENV_TLS_CA,
    ENV_TLS_CERT,
    ENV_TLS_KEY,
    EXIT_CANNOT_START,
    AnnounceBlob,
    GetSecretRequest,
    Heartbeat,
    HeartbeatAck,
    InitBlob,
    IpcChannelConfig,
    IpcPortNegotiation,
    IpcPortNegotiationResponse,
    ModuleEvents,
    ModuleSpans,
    ModuleToOrchestrator,
    ModuleTree,
    OrchestratorToModule,
    RemoteProtocolError,
    RotatedNotification,
    RotationAckRequest,
    SecretError,
    SecretValueResponse,
    SecurityLevel,
    ServiceOperation,
    ServiceRequest,
    Shutdown,
    SocketAddress,
    TcpChannelConfig,
    TreeRequest,
    decode_json,
    decode_json_value,
    encode_json,
    encode_line,
)

from .._errors import ModuleExited, PortUnavailable, SecretNotFound, describe_exit
from ..config import GATEWAY_NAME, ModuleKind, TlsFiles, supervisor_name
from ..console import CANNOT_HEAL_EXCEPTIONS, Console, FoldedTraceback, TracebackFolder
from ..hub import HUB_NAME, ModuleAnnounced, ModuleEnded, ModuleEndpoints
from ..proxies import Serve, ServiceAnswer, answer_detail, request_service
from ..secrets import STORE_NAME, FetchSecret, ModuleGone, RotationAcked
from ._handle import ModuleHandle, ModuleState
from ._http import ForwardHttp, HttpWrapperLine
from ._observe import GetModuleTree, TreeUnavailable, publish_module_events
from ._pipes import read_lines
from ._ports import PORTS_NAME, ReleasePorts, ReservePort

__all__ = ["FromModule", "ModuleProcess", "NotifyRotated", "ProcessEnded", "ProcessSettings"]

NOT_AVAILABLE: Final = "not available yet in the embedded orchestrator"
_LOADING_GRACE: Final = 0.1  # seconds before SIGTERM for a module still loading its code
_DRAIN: Final = 2.0  # seconds to let the readers finish after the process has exited
_EXCERPT: Final = 200


@attrs.frozen
class ProcessSettings:
    """What every module-process actor of one orchestrator shares."""

    orchestrator_api: str
    declaration_env: Mapping[str, str]
    grace: float
    term_grace: float
    console: Console
    base_env: Mapping[str, str] = attrs.field(repr=False)
    endpoints: Mapping[str, ModuleEndpoints] = attrs.field(factory=dict)
    """Each module's channel endpoints (its own TCP port and socket path)."""
    tls: TlsFiles | None = None
    on_spans: Callable[[str, ModuleSpans], None] | None = None
    """Takes each ``spans`` line of a module (the dashboard's traces); None: none asked for."""


@attrs.frozen
class FromModule:
    """A message the module with process ``pid`` wrote on its stdout."""

    pid: int
    message: ModuleToOrchestrator


@attrs.frozen
class ProcessEnded:
    """The process ``pid`` ended by itself with ``returncode``."""

    pid: int
    returncode: int


@attrs.frozen
class NotifyRotated(Request[bool]):
    """Send ``rotated`` for ``keys``; answers whether a running process got the line."""

    rotation_id: str
    keys: tuple[str, ...]


ProcessMessage = FromModule | ProcessEnded | NotifyRotated | ForwardHttp | GetModuleTree


class ModuleProcess(Actor[ProcessMessage]):
    """Runs one module process per incarnation (see the module docstring)."""

    reply_errors = (TreeUnavailable,)

    def __init__(self, handle: ModuleHandle, settings: ProcessSettings) -> None:
        self.handle = handle
        self.settings = settings
        self.spec = handle.spec
        self.console = settings.console
        self._process: trio.Process | None = None
        self._stop_requested = False
        self._streams_done = 0
        self._drained = trio.Event()
        self._tracebacks: TracebackFolder | None = None
        self._announced = False
        self._heard = False  # it has written a protocol line: its SDK reads stdin

    # -- lifecycle -------------------------------------------------------------------------

    async def on_start(self) -> None:
        spec, handle = self.spec, self.handle
        # Tree requests waiting for the module's answer (GetModuleTree), by request id.
        self._trees = PendingReplies[uuid.UUID](
            self.ctx, timeout_error=lambda _, s: TreeUnavailable(spec.id, f"no answer in {s:g} s")
        )
        self._self: ActorRef[Any] = self.ctx.self_ref
        self._store: ActorRef[Any] = self.ctx.system.ref(STORE_NAME)
        self._ports: ActorRef[Any] = self.ctx.system.ref(PORTS_NAME)
        previous = handle.init_blob.listen if handle.init_blob is not None else None
        prefer = previous.port if isinstance(previous, SocketAddress) else None
        port = await self._ports.ask(ReservePort(spec.id, prefer=prefer))
        blob = self._init_blob(port)
        env = {
            **self.settings.base_env,
            **spec.env,
            "PYWATT_MODULE_ID": spec.id,
            "PYWATT_EMBEDDED": "1",
        }
        try:
            process = await trio.lowlevel.open_process(
                list(spec.argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=spec.cwd,
                start_new_session=True,  # Ctrl-C reaches the orchestrator only; it stops us
            )
        except OSError as exc:
            handle.failure = exc
            self.console.error(f"cannot start {spec.id} ({_command(spec.argv)}): {exc}", spec.id)
            raise
        self._process = process
        handle._set(
            pid=process.pid,
            incarnation=handle.incarnation + 1,
            state=ModuleState.STARTING,
            announce=None,
            init_blob=blob,
        )
        self.console.info(f"{spec.id} started (pid {process.pid}): {_command(spec.argv)}", spec.id)
        self.ctx.start_task(self._watch_exit, process)
        self.ctx.start_task(self._read_stdout, process)
        self.ctx.start_task(self._read_stderr, process)
        await self._write(encode_json(blob, as_type=InitBlob), "init", f"listen {blob.listen}")

    def _init_blob(self, port: int) -> InitBlob:
        """The InitBlob: the listen address, and the module's own channels (decision 3)."""
        spec = self.spec
        env = dict(self.settings.declaration_env) if spec.kind is ModuleKind.PYWATT else {}
        endpoints = self.settings.endpoints.get(spec.id)
        tcp_channel = ipc_channel = None
        token: str | None = None
        security = SecurityLevel.NONE
        if endpoints is not None:
            if endpoints.tcp_port is not None:
                tcp_channel = TcpChannelConfig(
                    address=SocketAddress(ipaddress.IPv4Address("127.0.0.1"), endpoints.tcp_port),
                    tls_enabled=endpoints.tls,
                    required=endpoints.required,
                )
            if endpoints.socket_path is not None:
                ipc_channel = IpcChannelConfig(
                    socket_path=endpoints.socket_path, required=endpoints.required
                )
            security = endpoints.security
            if security is not SecurityLevel.NONE:
                token = endpoints.token
            tls = self.settings.tls
            if endpoints.tls and tls is not None:
                env[ENV_TLS_CA] = tls.ca_file
                if security is SecurityLevel.MTLS and tls.client_cert_file is not None:
                    env[ENV_TLS_CERT] = tls.client_cert_file
                    env[ENV_TLS_KEY] = tls.client_key_file or tls.client_cert_file
        return InitBlob(
            orchestrator_api=self.settings.orchestrator_api,
            module_id=spec.id,
            env=env,
            listen=SocketAddress(ipaddress.IPv4Address("127.0.0.1"), port),
            tcp_channel=tcp_channel,
            ipc_channel=ipc_channel,
            auth_token=token,
            security_level=security,
        )

    async def on_stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return  # it ended by itself; that was reported when it happened
        handle = self.handle
        self._stop_requested = True
        handle._set(state=ModuleState.STOPPING)
        grace, term_grace = self.settings.grace, self.settings.term_grace
        with trio.move_on_after(grace):
            await self._send(Shutdown())
            assert process.stdin is not None
            await process.stdin.aclose()  # EOF on stdin also means "shut down"
        # A pywatt module that has said nothing yet is still loading its code, not reading
        # stdin: it is stopped with SIGTERM at once (its SDK, if running, takes SIGTERM as a
        # shutdown too). A stop during start-up is then as quick as any other.
        loading = self.spec.kind is ModuleKind.PYWATT and not self._heard
        with trio.move_on_after(_LOADING_GRACE if loading else grace):
            await process.wait()
        if process.returncode is None:
            if loading:
                self.console.debug(f"{self.spec.id} is still starting; sending SIGTERM")
            else:
                self.console.warning(
                    f"{self.spec.id} did not exit within {grace:g} s of the shutdown line; "
                    "sending SIGTERM",
                    self.spec.id,
                )
            _signal_group(process, signal.SIGTERM)
            with trio.move_on_after(term_grace):
                await process.wait()
        if process.returncode is None:
            self.console.warning(
                f"{self.spec.id} did not exit within {term_grace:g} s of SIGTERM; sending SIGKILL",
                self.spec.id,
            )
            _signal_group(process, signal.SIGKILL)
            await process.wait()
        with trio.move_on_after(_DRAIN):
            await self._drained.wait()
        code = process.returncode
        assert code is not None
        await self._ended(code, keep_port=not handle.stop_requested)
        if handle.stop_requested:
            handle._set(state=ModuleState.STOPPED, pid=None, last_exit=code, announce=None)
            self.console.info(f"{self.spec.id} stopped ({describe_exit(code)})", self.spec.id)
        else:  # this actor failed while its process was fine; the restart policy applies
            handle._set(state=ModuleState.CRASHED, pid=None, last_exit=code, announce=None)
            self.console.error(
                f"the orchestrator failed while serving {self.spec.id}; its process was stopped "
                f"({describe_exit(code)}) and its restart policy applies",
                self.spec.id,
            )

    # -- messages --------------------------------------------------------------------------

    async def receive(self, message: ProcessMessage) -> bool | None:
        process = self._process
        if isinstance(message, NotifyRotated):
            if process is None or process.returncode is not None:
                return False
            rotated = RotatedNotification(keys=list(message.keys), rotation_id=message.rotation_id)
            detail = f"{message.rotation_id} {','.join(message.keys)}"
            return await self._send(rotated, detail)
        if isinstance(message, ForwardHttp):  # from the gateway: HTTP over IPC (§9.1)
            if process is None or process.returncode is not None:
                return False
            request = message.request
            return await self._send(request, f"{request.method} {request.request_id}")
        if isinstance(message, GetModuleTree):
            await self._ask_tree(message.timeout)
            return None
        if process is None or message.pid != process.pid:
            return None  # from an earlier process of this module
        if isinstance(message, ProcessEnded):
            self._process_ended(message.returncode)
            return None
        await self._handle(message.message)
        return None

    def _process_ended(self, code: int) -> None:
        spec, handle = self.spec, self.handle
        if spec.kind is ModuleKind.PYWATT and (code == EXIT_CANNOT_START or self._unfixable(code)):
            # It said why on stderr; restarting would fail the same way.
            handle.stop_requested = True
            handle._set(state=ModuleState.FAILED, pid=None, last_exit=code, announce=None)
            self.console.error(
                f"{spec.id} cannot start and restarting will not help: fix what it said above "
                "and run it again",
                spec.id,
            )
            self.ctx.system.supervisor(supervisor_name(spec.id)).request_stop()
            return
        policy = spec.restart.restart
        restarts = policy is Restart.PERMANENT or (policy is Restart.TRANSIENT and code != 0)
        state = ModuleState.CRASHED if restarts else ModuleState.EXITED
        handle._set(state=state, pid=None, last_exit=code, announce=None)
        what = f"{spec.id} {describe_exit(code)} without being asked to"
        if code == 0:
            self.console.warning(what, spec.id)
            self.ctx.stop()  # a normal end: PERMANENT restarts it, TRANSIENT does not
            return
        self.console.error(what, spec.id)
        raise ModuleExited(spec.id, code)

    def _unfixable(self, code: int) -> bool:
        """Died before announcing of an error in its code (an import or syntax error, as its
        traceback says): restarting runs the same code."""
        last = self._tracebacks.last if self._tracebacks is not None else None
        return (
            code != 0
            and not self._announced
            and last is not None
            and last.exception in CANNOT_HEAL_EXCEPTIONS
        )

    async def _handle(self, message: ModuleToOrchestrator) -> None:
        spec = self.spec
        self._heard = True
        if isinstance(message, AnnounceBlob):
            self._announced = True
            self.handle._set(announce=message, state=ModuleState.RUNNING)
            self.console.info(f"{spec.id} is up: {_describe_announce(message)}", spec.id)
            await self.ctx.system.tell(HUB_NAME, ModuleAnnounced(spec.id))
        elif isinstance(message, GetSecretRequest):
            await self._answer_secret(message.name)
        elif isinstance(message, RotationAckRequest):
            # Decision 10: a Rust module reads and discards the line after its ack (A8), so
            # the line right after an ack is a harmless heartbeat, written before anything else.
            await self._send(Heartbeat(), "after rotation_ack")
            await self._store.tell(
                RotationAcked(spec.id, message.rotation_id, message.status, message.message)
            )
            outcome = message.status + (f" ({message.message})" if message.message else "")
            self.console.info(f"{spec.id} acked rotation {message.rotation_id}: {outcome}", spec.id)
        elif isinstance(message, IpcPortNegotiation):
            await self._answer_port(message)
        elif isinstance(message, ServiceRequest | ServiceOperation):
            # Served asynchronously by the services actor; the answer comes back here to be
            # written (see pywatt.orchestrator.proxies), so a slow query never blocks this
            # mailbox.
            await self._serve_service(message)
        elif isinstance(message, HeartbeatAck):
            pass
        elif isinstance(message, ModuleTree):
            try:
                tree = tree_from_json(message.tree)
            except ValueError as exc:
                error = TreeUnavailable(spec.id, f"it sent a bad tree: {exc}")
                self._trees.fail(message.request_id, error)
            else:
                self._trees.resolve(message.request_id, tree)
        elif isinstance(message, ModuleEvents):
            publish_module_events(self.ctx.system.events, spec.id, message)
        elif isinstance(message, ModuleSpans) and self.settings.on_spans is not None:
            self.settings.on_spans(spec.id, message)
        else:
            self.console.warning(
                f"{spec.id} sent {message.OP!r} on stdout, which the embedded orchestrator "
                "does not handle there; ignored",
                spec.id,
            )

    async def _serve_service(self, message: ServiceRequest | ServiceOperation) -> None:
        """Write an answer that came back, or hand a new line to the services actor."""
        if isinstance(message, ServiceAnswer):
            await self._send(message.answer, answer_detail(message.answer))
            return
        proc = self._process
        if proc is None:
            return
        pid = proc.pid
        self_ref: ActorRef[Any] = self.ctx.self_ref

        async def deliver(answer: OrchestratorToModule) -> None:
            with contextlib.suppress(ActorError):  # the module's actor is gone: nobody reads it
                await self_ref.tell(FromModule(pid, ServiceAnswer.carrying(message, answer)))

        served = Serve(self.spec.id, pid, message, deliver)
        await request_service(self.ctx.system, self.settings.base_env, self.console, served)

    async def _ask_tree(self, timeout: float) -> None:
        """Send ``tree_request``; the module's ``tree`` line answers the deferred reply."""
        process = self._process
        if self.spec.kind is not ModuleKind.PYWATT:
            raise TreeUnavailable(self.spec.id, "not supported by this module")
        if process is None or process.returncode is not None:
            raise TreeUnavailable(self.spec.id, f"not running ({self.handle.state.value})")
        request_id = uuid.uuid4()
        self._trees.add(request_id, self.ctx.defer_reply(), timeout=timeout)
        if not await self._send(TreeRequest(request_id=request_id), str(request_id)):
            self._trees.fail(request_id, TreeUnavailable(self.spec.id, "its stdin is closed"))

    async def _answer_secret(self, name: str) -> None:
        spec = self.spec
        try:
            value: str = await self._store.ask(FetchSecret(spec.id, name))
        except SecretNotFound as exc:
            if spec.kind is ModuleKind.PYWATT:  # the module says it, in one line
                await self._send(SecretError(name=name, message=exc.reason), name)
            else:  # the Rust protocol has no "not found": stay silent, as Rust would (§7.1)
                self.console.warning(
                    f"{spec.id} asked for secret {name!r}: {exc.reason}; no reply (a foreign "
                    "module cannot read secret_error; its request will time out)",
                    spec.id,
                )
            return
        await self._send(SecretValueResponse(name=name, value=value), name)

    async def _answer_port(self, request: IpcPortNegotiation) -> None:
        try:
            port: int = await self._ports.ask(
                ReservePort(self.spec.id, specific=request.specific_port)
            )
        except PortUnavailable as exc:
            response = IpcPortNegotiationResponse(
                request_id=request.request_id, success=False, port=0, error_message=str(exc)
            )
        else:
            response = IpcPortNegotiationResponse(
                request_id=request.request_id, success=True, port=port
            )
        await self._send(response, f"{response.port} success={response.success}")

    # -- stdin (the only writer) -----------------------------------------------------------

    async def _send(self, message: OrchestratorToModule, detail: str = "") -> bool:
        return await self._write(encode_json(message), message.OP, detail)

    async def _write(self, payload: bytes, op: str, detail: str) -> bool:
        """Write one whole line; False when the process no longer reads its stdin."""
        process = self._process
        assert process is not None
        assert process.stdin is not None
        self.handle._record_traffic("out", op, detail)
        self.console.debug(f"-> {self.spec.id}: {op} {detail}".rstrip(), self.spec.id)
        try:
            await process.stdin.send_all(encode_line(payload))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.console.debug(f"{self.spec.id}: stdin is closed; {op} not delivered", self.spec.id)
            return False
        return True

    # -- background tasks ------------------------------------------------------------------

    async def _read_stdout(self, process: trio.Process) -> None:
        assert process.stdout is not None
        pid = process.pid

        async def on_line(line: bytes, number: int) -> None:
            if not line.strip():
                return
            if line.startswith(b'{"content":'):  # the §9.2 HTTP response wrapper (no op)
                self.handle._record_traffic("in", "http_response", "stdout wrapper")
                await self.ctx.system.tell(GATEWAY_NAME, HttpWrapperLine(self.spec.id, line))
                return
            try:
                message = decode_json(line, ModuleToOrchestrator)
            except RemoteProtocolError as exc:
                self._malformed(line, number, exc)
                return
            self.handle._record_traffic("in", message.OP, _detail(message))
            self.console.debug(
                f"<- {self.spec.id}: {message.OP} {_detail(message)}".rstrip(), self.spec.id
            )
            await self._self.tell(FromModule(pid, message))

        def on_error(problem: str) -> None:
            self.console.error(
                f"{self.spec.id} wrote a bad line on stdout: {problem}", self.spec.id
            )

        try:
            await read_lines(process.stdout, on_line, on_error, max_line=DEFAULT_MAX_LINE)
        finally:
            self._stream_done()

    def _malformed(self, line: bytes, number: int, exc: Exception) -> None:
        spec = self.spec
        text = line.decode("utf-8", "replace")
        excerpt = text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."
        try:
            value = decode_json_value(line)
        except RemoteProtocolError:
            value = None
        if isinstance(value, dict) and "op" not in value and {"content", "metadata"} <= set(value):
            # An HTTP response wrapper whose keys are not sorted: still the gateway's.
            self.ctx.system.tell_nowait(GATEWAY_NAME, HttpWrapperLine(spec.id, line))
            return
        self.console.error(
            f"{spec.id} sent a malformed message on stdout (line {number}): {exc}; "
            f"line: {excerpt!r}",
            spec.id,
        )

    async def _read_stderr(self, process: trio.Process) -> None:
        assert process.stderr is not None
        module_id = self.spec.id

        folder = self._tracebacks = TracebackFolder(verbose=self.console.verbose)

        def show(parts: list[str | FoldedTraceback]) -> None:
            for part in parts:
                if isinstance(part, FoldedTraceback):
                    self.console.module_error(module_id, part.summary())
                else:
                    self.console.module_stderr(module_id, part)

        async def on_line(line: bytes, number: int) -> None:
            text = line.decode("utf-8", "replace")
            self.handle._record_stderr(self.console.redact.redact(text))
            show(folder.feed(text))

        def on_error(problem: str) -> None:
            self.console.warning(f"{module_id} wrote an overlong stderr line: {problem}", module_id)

        try:
            await read_lines(
                process.stderr, on_line, on_error, max_line=DEFAULT_MAX_LINE,
                on_quiet=lambda: show(folder.flush()),
            )  # fmt: skip
        finally:
            show(folder.flush())
            self._stream_done()

    def _stream_done(self) -> None:
        self._streams_done += 1
        if self._streams_done == 2:
            self._drained.set()

    async def _watch_exit(self, process: trio.Process) -> None:
        try:
            code = await process.wait()
            if self._stop_requested:
                return  # on_stop is waiting for this exit and reports it
            with trio.move_on_after(_DRAIN):
                await self._drained.wait()
            await self._ended(code, keep_port=True)
            await self._self.tell(ProcessEnded(process.pid, code))
        finally:
            if process.returncode is None:  # the incarnation was cancelled: no orphans
                _signal_group(process, signal.SIGKILL)
                with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                    await process.wait()

    async def _ended(self, code: int, *, keep_port: bool) -> None:
        """The process is gone: it holds no secrets and (unless restarting) no ports; the
        providers it registered leave."""
        await self._store.tell(ModuleGone(self.spec.id))
        await self.ctx.system.tell(HUB_NAME, ModuleEnded(self.spec.id))
        init = self.handle.init_blob
        keep = (
            init.listen.port
            if keep_port and init and isinstance(init.listen, SocketAddress)
            else None
        )
        await self._ports.tell(ReleasePorts(self.spec.id, keep=keep))
        process = self._process
        if process is not None and process.stdin is not None:
            await process.stdin.aclose()


def _signal_group(process: trio.Process, signum: signal.Signals) -> None:
    """Signal the module's process group (it leads its own session), or just the process."""
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)


def _command(argv: tuple[str, ...]) -> str:
    return " ".join(shlex.quote(os.path.basename(a) if i == 0 else a) for i, a in enumerate(argv))


def _describe_announce(announce: AnnounceBlob) -> str:
    if not announce.endpoints:
        return f"listening on {announce.listen}, no endpoints"
    endpoints = ", ".join(
        f"{','.join(e.methods)} {e.path}" + (f" [{e.auth}]" if e.auth else "")
        for e in announce.endpoints
    )
    return f"listening on {announce.listen}; endpoints: {endpoints}"


def _service_name(service_type: Any) -> str:
    name: str = service_type.name or service_type.variant
    return name


def _detail(message: ModuleToOrchestrator) -> str:
    """A value-free summary of a message for traces."""
    if isinstance(message, GetSecretRequest):
        return message.name
    if isinstance(message, RotationAckRequest):
        return f"{message.rotation_id} {message.status}"
    if isinstance(message, IpcPortNegotiation):
        return f"specific_port={message.specific_port}"
    if isinstance(message, AnnounceBlob):
        return message.listen
    if isinstance(message, ServiceRequest):
        return message.id
    if isinstance(message, ServiceOperation):
        return message.operation
    return ""
