"""What to run: module specs, restart policies and the ``pywatt.toml`` manifest.

A manifest names each module's id, its command (a Python file, run with this interpreter,
or any executable, such as a Rust module binary), the secrets it may fetch, whether it is a
pywatt module or a foreign one (a Rust-SDK module: it gets only what the Rust SDK
understands), and its restart policy::

    [orchestrator]
    secrets_file = ".env"       # KEY=VALUE lines; relative to this file
    gateway = "127.0.0.1:8080"  # the HTTP gateway's address (default: a free loopback port)
    grace = 5                   # seconds after the shutdown line before SIGTERM
    term_grace = 5              # seconds after SIGTERM before SIGKILL

    [modules.greeter]
    command = "greeter.py"      # or ["./target/release/billing", "--flag"]
    secrets = ["API_KEY"]
    kind = "pywatt"             # default: "pywatt" for .py files, "foreign" otherwise
    restart = "permanent"       # permanent | transient | temporary (always | on-failure | never)
    max_restarts = 5            # within `within` seconds; "unlimited" never gives up
    within = 60
    backoff = { first = 0.1, base = 0.5, multiplier = 2.0, cap = 10.0 }
    channels = { tcp = true, ipc = true, tls = false, security = "token" }   # the default
    depends_on = ["billing"]    # start after billing has announced

    [modules.billing]
    command = "./target/release/billing"
    channels = { security = "none" }   # foreign only: its TCP port takes anyone (warned)

A connection to a module's TCP port must carry that module's auth token, except where a
foreign module's entry says ``security = "none"``; a foreign module's Unix socket relies on
being owner-only (see :class:`ChannelOptions`).
Modules start in the order they appear, except that a module with ``depends_on`` starts only
once every module it names has announced (its endpoints are then served); they stop in
reverse start order (:meth:`Manifest.start_order`). Every problem is a :class:`ManifestError`
naming the file and key: an unknown name or a cycle in ``depends_on`` too.
"""

from __future__ import annotations

import enum
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from actors import Backoff, Restart
from pywatt._suggest import did_you_mean
from pywatt.wire import SecurityLevel

from .._errors import ManifestError

__all__ = [
    "DEFAULT_BACKOFF",
    "ChannelOptions",
    "Manifest",
    "ModuleKind",
    "ModuleSpec",
    "RestartPolicy",
    "TlsFiles",
    "load_manifest",
    "module_from_file",
    "parse_gateway_address",
    "parse_secret_assignment",
]

_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SECRET_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

DEFAULT_BACKOFF: Final = Backoff(first=0.1, base=0.5, multiplier=2.0, cap=10.0, jitter=0.1)
"""Restart delays of a module: 0.1 s, then 0.5 s doubling up to 10 s, ±10 % jitter."""

_RESTART_NAMES: Final = {
    "permanent": Restart.PERMANENT,
    "always": Restart.PERMANENT,
    "transient": Restart.TRANSIENT,
    "on-failure": Restart.TRANSIENT,
    "temporary": Restart.TEMPORARY,
    "never": Restart.TEMPORARY,
}


class ModuleKind(enum.Enum):
    """Whether a module speaks pywatt's extensions (docs/protocol-extensions.md)."""

    PYWATT = "pywatt"
    """A pywatt module: gets the ``PYWATT_`` declaration keys and ``secret_error`` replies."""
    FOREIGN = "foreign"
    """A Rust-SDK (or unknown) module: gets only what the Rust SDK understands."""


@attrs.frozen(kw_only=True)
class RestartPolicy:
    """How a module's supervisor treats its process ending without being asked to.

    ``restart``: PERMANENT restarts after any unrequested exit, TRANSIENT only after a
    failure (non-zero exit or a signal), TEMPORARY never. More than ``max_restarts``
    restarts within ``within`` seconds and the orchestrator gives up on the module (the others
    keep running); ``None`` never gives up. ``backoff`` spaces the restarts.
    """

    restart: Restart = Restart.PERMANENT
    max_restarts: int | None = 5
    within: float = 60.0
    backoff: Backoff = DEFAULT_BACKOFF

    def __attrs_post_init__(self) -> None:
        if self.max_restarts is not None and self.max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0 or None, not {self.max_restarts}")
        if self.within <= 0:
            raise ValueError(f"within must be positive, not {self.within}")


@attrs.frozen(kw_only=True)
class ChannelOptions:
    """A module's channels: a TCP port and a Unix socket of its own (each may be off),
    TLS on TCP, the security level and whether the module must treat them as required.

    Nobody connects as a module without its auth token, unless the manifest names that
    module as an exception. ``security`` None (the default) means ``Token`` for a pywatt
    module: the token is in its InitBlob, and the first frame on each of its connections
    must carry it (``Mtls`` adds a client certificate; TLS and ``Mtls`` need ``tls``). A
    foreign module cannot send a token (Rust modules implement neither token nor TLS), so by
    default it gets only its Unix socket, which is owner-only (0600) in a private directory,
    and no TCP port. ``SecurityLevel.NONE`` is allowed for a foreign module only: its TCP
    port then takes connections without a token, so any local user can act as it, and the
    orchestrator says so loudly when it starts.
    """

    tcp: bool = True
    ipc: bool = True
    tls: bool = False
    security: SecurityLevel | None = None
    required: bool = False


@attrs.frozen(kw_only=True)
class TlsFiles:
    """The orchestrator's TLS material for TCP channels (PEM files).

    ``cert_file``/``key_file``: the listener's certificate; ``ca_file``: the CA modules
    trust (sent as ``PYWATT_TLS_CA``); ``client_cert_file``/``client_key_file``: the client
    certificate handed to Mtls modules; ``client_ca_file``: the CA that must have signed
    a client certificate (default ``ca_file``).
    """

    cert_file: str
    key_file: str
    ca_file: str
    client_cert_file: str | None = None
    client_key_file: str | None = None
    client_ca_file: str | None = None


def _strings_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _modules_tuple(value: Iterable[ModuleSpec]) -> tuple[ModuleSpec, ...]:
    return tuple(value)


def _check_id(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or _ID_RE.fullmatch(value) is None:
        raise ValueError(
            f"module id {value!r} must be 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )


@attrs.frozen(kw_only=True)
class ModuleSpec:
    """One module to run. Build it with :meth:`from_command` (which resolves the command).

    ``argv`` is the exact command line. ``secrets`` lists the secret names the module may
    fetch (environment values are served only for these); ``None`` lets it fetch any secret
    given in a secrets file or on the command line. ``env`` adds variables to the process
    environment (never secrets: use ``secrets``). ``depends_on`` names the modules that must
    have announced before this one is started (checked by :class:`Manifest`).
    """

    id: str = attrs.field(validator=_check_id)
    argv: tuple[str, ...] = attrs.field(converter=_strings_tuple)
    kind: ModuleKind = ModuleKind.PYWATT
    secrets: tuple[str, ...] | None = None
    restart: RestartPolicy = RestartPolicy()
    env: Mapping[str, str] = attrs.field(factory=dict)
    cwd: str | None = None
    channels: ChannelOptions = ChannelOptions()
    depends_on: tuple[str, ...] = attrs.field(default=(), converter=_strings_tuple)

    def __attrs_post_init__(self) -> None:
        if not self.argv:
            raise ValueError(f"module {self.id!r}: the command is empty")
        if self.kind is ModuleKind.PYWATT and self.channels.security is SecurityLevel.NONE:
            raise ValueError(
                f"module {self.id!r}: channels.security 'none' is for foreign modules only "
                "(a pywatt module sends its auth token on every channel)"
            )

    @classmethod
    def from_command(
        cls,
        module_id: str,
        command: str | Sequence[str],
        *,
        args: Sequence[str] = (),
        kind: ModuleKind | None = None,
        secrets: Sequence[str] | None = None,
        restart: RestartPolicy | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        base_dir: str | None = None,
        channels: ChannelOptions | None = None,
        depends_on: Sequence[str] = (),
    ) -> ModuleSpec:
        """Resolve ``command`` and build the spec. Does not block.

        A command ending in ``.py`` is run with this interpreter (``sys.executable``) and is a
        pywatt module unless ``kind`` says otherwise; any other command must be an executable
        file (relative paths are taken from ``base_dir``) or a program on ``PATH``, and is
        foreign by default. Raises :class:`ManifestError` if the command cannot be found,
        and ``ValueError`` for a bad id or secret name.
        """
        argv, default_kind = resolve_command(command, args, base_dir, where=f"module {module_id}")
        if secrets is not None:
            for name in secrets:
                _check_secret_name(name, f"module {module_id}: secrets")
        return cls(
            id=module_id,
            argv=argv,
            kind=kind or default_kind,
            secrets=tuple(secrets) if secrets is not None else None,
            restart=restart or RestartPolicy(),
            env=dict(env or {}),
            cwd=cwd,
            channels=channels or ChannelOptions(),
            depends_on=depends_on,
        )


@attrs.frozen(kw_only=True)
class Manifest:
    """Everything the orchestrator runs: modules (in start order), secrets and stop timings.

    ``secrets`` are explicit values (``--secret NAME=VALUE``); they win over ``secrets_file``
    (a ``.env``-style file), which wins over ``environment`` (default: the orchestrator's own
    environment, served only for the names a module lists). ``grace`` is the wait after the
    shutdown line before SIGTERM, ``term_grace`` the wait after SIGTERM before SIGKILL.
    """

    modules: tuple[ModuleSpec, ...] = attrs.field(converter=_modules_tuple)
    secrets: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    secrets_file: str | None = None
    environment: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    grace: float = 5.0
    term_grace: float = 5.0
    heartbeat_interval: float = 5.0
    """Seconds between channel heartbeats; three missed ones close a connection."""
    tls: TlsFiles | None = None
    """TLS material for modules whose channels ask for TLS."""
    gateway_host: str = "127.0.0.1"
    """Where the HTTP gateway listens (``0.0.0.0`` or ``::`` for every interface)."""
    gateway_port: int = 0
    """The HTTP gateway's port; 0 takes a free one."""
    source: str | None = None
    """The manifest file this came from, if any (for messages)."""

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for spec in self.modules:
            if spec.id in seen:
                raise ManifestError(
                    self.source or "modules", f"two modules have the id {spec.id!r}"
                )
            seen.add(spec.id)
        for name in self.secrets:
            _check_secret_name(name, "secrets")
        if self.grace < 0 or self.term_grace < 0:
            raise ManifestError(self.source or "manifest", "grace periods must not be negative")
        if not self.heartbeat_interval > 0:
            raise ManifestError(self.source or "manifest", "heartbeat_interval must be positive")
        if not 0 <= self.gateway_port < 65536:
            raise ManifestError(
                self.source or "manifest",
                f"the gateway port must be 0-65535, not {self.gateway_port}",
            )
        for spec in self.modules:
            if spec.channels.tls and self.tls is None:
                raise ManifestError(
                    self.source or "manifest",
                    f"module {spec.id!r} asks for TLS channels but no TLS files are given",
                )

        self.start_order()  # an unknown name or a cycle in depends_on is a ManifestError

    def start_order(self) -> tuple[ModuleSpec, ...]:
        """The modules in the order they start: as listed, except that each comes after the
        modules it ``depends_on``. Raises :class:`ManifestError` naming the ``depends_on`` key
        of a module that names an unknown module, itself, or a cycle."""
        by_id = {spec.id: spec for spec in self.modules}
        source = self.source or "manifest"
        for spec in self.modules:
            for name in spec.depends_on:
                if name not in by_id:
                    raise ManifestError(
                        f"{source}: modules.{spec.id}.depends_on",
                        f"no module named {name!r} (modules: {', '.join(by_id)})",
                    )
        order: list[ModuleSpec] = []
        placed: set[str] = set()
        path: list[str] = []

        def place(spec: ModuleSpec) -> None:
            if spec.id in placed:
                return
            if spec.id in path:
                cycle = " -> ".join([*path[path.index(spec.id) :], spec.id])
                raise ManifestError(f"{source}: modules.{path[-1]}.depends_on", f"a cycle: {cycle}")
            path.append(spec.id)
            for name in spec.depends_on:
                place(by_id[name])
            path.pop()
            placed.add(spec.id)
            order.append(spec)

        for spec in self.modules:
            place(spec)
        return tuple(order)

    def with_modules(self, extra: Sequence[ModuleSpec]) -> Manifest:
        """A copy with ``extra`` modules appended (they start after the others)."""
        return attrs.evolve(self, modules=[*self.modules, *extra])


def resolve_command(
    command: str | Sequence[str],
    args: Sequence[str],
    base_dir: str | None,
    *,
    where: str,
) -> tuple[tuple[str, ...], ModuleKind]:
    """The argv for ``command`` + ``args``, and the kind it implies. Raises ManifestError."""
    if isinstance(command, str):
        parts = [command]
    elif isinstance(command, Sequence) and all(isinstance(p, str) for p in command):
        parts = list(command)
    else:
        raise ManifestError(
            where, f"command must be a string or a list of strings, not {command!r}"
        )
    if not parts or not parts[0]:
        raise ManifestError(where, "command is empty")
    first, rest = parts[0], [*parts[1:], *args]
    base = base_dir or os.getcwd()
    if first.endswith(".py"):
        path = os.path.abspath(os.path.join(base, first))
        if not os.path.isfile(path):
            raise ManifestError(where, f"module file {path} does not exist")
        return (sys.executable, path, *rest), ModuleKind.PYWATT
    if os.sep in first or os.path.exists(os.path.join(base, first)):
        path = os.path.abspath(os.path.join(base, first))
        if not os.path.isfile(path):
            raise ManifestError(where, f"executable {path} does not exist")
        if not os.access(path, os.X_OK):
            raise ManifestError(where, f"{path} is not executable (chmod +x it)")
        return (path, *rest), ModuleKind.FOREIGN
    found = shutil.which(first)
    if found is None:
        raise ManifestError(where, f"program {first!r} is not on PATH")
    return (found, *rest), ModuleKind.FOREIGN


def module_from_file(path: str, *, secrets: Sequence[str] | None = None) -> ModuleSpec:
    """A module for ``pywatt run FILE``: its id is the file's stem (``greeter.py`` → greeter).

    Raises :class:`ManifestError` if the file does not exist or its stem is not a valid id.
    """
    stem = os.path.splitext(os.path.basename(path))[0]
    if _ID_RE.fullmatch(stem) is None:
        raise ManifestError(
            path, f"the file name {stem!r} is not a valid module id; name it in a manifest"
        )
    return ModuleSpec.from_command(stem, path, secrets=secrets)


def parse_gateway_address(value: object, where: str) -> tuple[str, int]:
    """``(host, port)`` of a gateway address: ``"HOST:PORT"`` (``"[::1]:8080"`` for IPv6),
    ``":PORT"`` or a port number (on 127.0.0.1). Raises :class:`ManifestError`."""
    expected = 'expected "HOST:PORT" (such as "127.0.0.1:8080") or a port number'
    if isinstance(value, int) and not isinstance(value, bool):
        host, port_text = "127.0.0.1", str(value)
    elif isinstance(value, str):
        host, sep, port_text = value.rpartition(":")
        if not sep:
            raise ManifestError(where, f"{expected}, not {value!r}")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        elif ":" in host:
            raise ManifestError(where, f"put an IPv6 host in brackets: [{host}]:{port_text}")
        host = host or "127.0.0.1"
    else:
        raise ManifestError(where, f"{expected}, not {value!r}")
    if not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ManifestError(where, f"the port must be a number from 0 to 65535, not {port_text!r}")
    return host, int(port_text)


def parse_secret_assignment(text: str) -> tuple[str, str]:
    """Split ``NAME=VALUE`` (a ``--secret`` flag). Raises :class:`ManifestError`."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ManifestError("--secret", f"expected NAME=VALUE, got {name!r} with no '='")
    _check_secret_name(name, "--secret")
    return name, value


def _check_secret_name(name: object, where: str) -> None:
    if not isinstance(name, str) or _SECRET_NAME_RE.fullmatch(name) is None:
        raise ManifestError(where, f"{name!r} is not a valid secret name")


# --- pywatt.toml -----------------------------------------------------------------------------

_ORCHESTRATOR_KEYS: Final = frozenset(
    {"secrets_file", "grace", "term_grace", "heartbeat_interval", "tls", "gateway"}
)
_TLS_KEYS: Final = frozenset(
    {"cert_file", "key_file", "ca_file", "client_cert_file", "client_key_file", "client_ca_file"}
)
_MODULE_KEYS: Final = frozenset(
    {
        "command",
        "args",
        "kind",
        "secrets",
        "env",
        "cwd",
        "restart",
        "max_restarts",
        "within",
        "backoff",
        "channels",
        "depends_on",
    }
)
_CHANNEL_KEYS: Final = frozenset({"tcp", "ipc", "tls", "security", "required"})
_BACKOFF_KEYS: Final = frozenset({"first", "base", "multiplier", "cap", "jitter"})


def load_manifest(path: str) -> Manifest:
    """Read a ``pywatt.toml`` manifest. Blocks on file I/O (call it before starting trio
    work, or from a thread). Relative paths in it are taken from the file's directory.

    Raises :class:`ManifestError` naming the file and key of the first problem.
    """
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ManifestError(path, f"cannot read the manifest: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, f"not valid TOML: {exc}") from exc
    return manifest_from_dict(data, source=path)


def manifest_from_dict(data: Mapping[str, Any], *, source: str) -> Manifest:
    """Build a manifest from parsed TOML (see :func:`load_manifest`). Raises ManifestError."""
    base_dir = os.path.dirname(os.path.abspath(source))
    _only(data, {"orchestrator", "modules"}, source, "")
    settings = _table(data.get("orchestrator", {}), source, "orchestrator")
    _only(settings, _ORCHESTRATOR_KEYS, source, "orchestrator.")
    secrets_file = settings.get("secrets_file")
    if secrets_file is not None:
        secrets_file = os.path.join(
            base_dir, _string(secrets_file, source, "orchestrator.secrets_file")
        )
    grace = _seconds(settings.get("grace", 5.0), source, "orchestrator.grace")
    term_grace = _seconds(settings.get("term_grace", 5.0), source, "orchestrator.term_grace")
    heartbeat = _seconds(
        settings.get("heartbeat_interval", 5.0), source, "orchestrator.heartbeat_interval"
    )
    tls = None
    if "tls" in settings:
        table = _table(settings["tls"], source, "orchestrator.tls")
        _only(table, _TLS_KEYS, source, "orchestrator.tls.")
        files = {
            k: os.path.join(base_dir, _string(v, source, f"orchestrator.tls.{k}"))
            for k, v in table.items()
        }
        for needed in ("cert_file", "key_file", "ca_file"):
            if needed not in files:
                raise ManifestError(f"{source}: orchestrator.tls", f"missing key {needed!r}")
        tls = TlsFiles(**files)
    gateway_host, gateway_port = "127.0.0.1", 0
    if "gateway" in settings:
        gateway_host, gateway_port = parse_gateway_address(
            settings["gateway"], f"{source}: orchestrator.gateway"
        )
    modules = _table(data.get("modules", {}), source, "modules")
    if not modules:
        raise ManifestError(source, "no modules: add a [modules.<id>] table")
    specs = [
        _module(module_id, _table(body, source, f"modules.{module_id}"), source, base_dir)
        for module_id, body in modules.items()
    ]
    return Manifest(
        modules=specs,
        secrets_file=secrets_file,
        grace=grace,
        term_grace=term_grace,
        heartbeat_interval=heartbeat,
        tls=tls,
        gateway_host=gateway_host,
        gateway_port=gateway_port,
        source=source,
    )


def _module(module_id: str, body: Mapping[str, Any], source: str, base_dir: str) -> ModuleSpec:
    key = f"modules.{module_id}"
    where = f"{source}: {key}"
    if _ID_RE.fullmatch(module_id) is None:
        raise ManifestError(
            where, "a module id must be letters, digits, '_', '.' or '-' (at most 64)"
        )
    _only(body, _MODULE_KEYS, source, key + ".")
    if "command" not in body:
        raise ManifestError(where, "missing key 'command'")
    args = _strings(body.get("args", []), source, key + ".args")
    kind_text = body.get("kind")
    kind: ModuleKind | None = None
    if kind_text is not None:
        try:
            kind = ModuleKind(kind_text)
        except ValueError:
            raise ManifestError(
                f"{source}: {key}.kind", f"must be 'pywatt' or 'foreign', not {kind_text!r}"
            ) from None
    secrets = body.get("secrets")
    cwd = body.get("cwd")
    if cwd is not None:
        cwd = os.path.join(base_dir, _string(cwd, source, key + ".cwd"))
    env = _table(body.get("env", {}), source, key + ".env")
    for name, value in env.items():
        _string(value, source, f"{key}.env.{name}")
    channels = _channels(body.get("channels", {}), source, key)
    depends_on = _strings(body.get("depends_on", []), source, key + ".depends_on")
    # Checked here too so that an error names the file and the key, not just the module.
    command_kind = resolve_command(body["command"], args, base_dir, where=f"{where}.command")[1]
    if secrets is not None:
        for name in _strings(secrets, source, key + ".secrets"):
            _check_secret_name(name, f"{where}.secrets")
    if channels.security is SecurityLevel.NONE and (kind or command_kind) is ModuleKind.PYWATT:
        raise ManifestError(
            f"{source}: {key}.channels.security",
            "'none' is for foreign modules only (a pywatt module sends its auth token)",
        )
    return ModuleSpec.from_command(
        module_id,
        body["command"],
        args=args,
        kind=kind,
        secrets=_strings(secrets, source, key + ".secrets") if secrets is not None else None,
        restart=_policy(body, source, key),
        env=env,
        cwd=cwd,
        base_dir=base_dir,
        channels=channels,
        depends_on=depends_on,
    )


def _channels(value: object, source: str, key: str) -> ChannelOptions:
    table = _table(value, source, key + ".channels")
    _only(table, _CHANNEL_KEYS, source, key + ".channels.")
    options: dict[str, Any] = {}
    for flag in ("tcp", "ipc", "tls", "required"):
        if flag in table:
            if not isinstance(table[flag], bool):
                raise ManifestError(f"{source}: {key}.channels.{flag}", "must be true or false")
            options[flag] = table[flag]
    if "security" in table:
        levels = {"none": SecurityLevel.NONE, "token": SecurityLevel.TOKEN,
                  "mtls": SecurityLevel.MTLS}  # fmt: skip
        level = levels.get(str(table["security"]).lower())
        if level is None:
            raise ManifestError(
                f"{source}: {key}.channels.security", "must be 'none', 'token' or 'mtls'"
            )
        options["security"] = level
    return ChannelOptions(**options)


def _policy(body: Mapping[str, Any], source: str, key: str) -> RestartPolicy:
    restart_text = body.get("restart", "permanent")
    restart = _RESTART_NAMES.get(restart_text) if isinstance(restart_text, str) else None
    if restart is None:
        raise ManifestError(
            f"{source}: {key}.restart",
            f"must be one of {', '.join(sorted(_RESTART_NAMES))}, not {restart_text!r}",
        )
    limit_value = body.get("max_restarts", 5)
    limit: int | None
    if limit_value == "unlimited":
        limit = None
    elif isinstance(limit_value, int) and not isinstance(limit_value, bool) and limit_value >= 0:
        limit = limit_value
    else:
        raise ManifestError(
            f"{source}: {key}.max_restarts",
            f'must be a non-negative integer or "unlimited", not {limit_value!r}',
        )
    within = _seconds(body.get("within", 60.0), source, key + ".within")
    if within == 0:
        raise ManifestError(f"{source}: {key}.within", "must be positive")
    backoff = DEFAULT_BACKOFF
    if "backoff" in body:
        table = _table(body["backoff"], source, key + ".backoff")
        _only(table, _BACKOFF_KEYS, source, key + ".backoff.")
        values = {
            name: _seconds(value, source, f"{key}.backoff.{name}") for name, value in table.items()
        }
        backoff = attrs.evolve(DEFAULT_BACKOFF, **values)
    return RestartPolicy(restart=restart, max_restarts=limit, within=within, backoff=backoff)


def _only(
    table: Mapping[str, Any], allowed: frozenset[str] | set[str], source: str, prefix: str
) -> None:
    for name in table:
        if name not in allowed:
            raise ManifestError(
                f"{source}: {prefix}{name}",
                f"unknown key{did_you_mean(name, allowed)} (expected one of: "
                f"{', '.join(sorted(allowed))})",
            )


def _table(value: object, source: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{source}: {key}", f"must be a table, not {type(value).__name__}")
    return value


def _string(value: object, source: str, key: str) -> str:
    if not isinstance(value, str):
        raise ManifestError(f"{source}: {key}", f"must be a string, not {value!r}")
    return value


def _strings(value: object, source: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{source}: {key}", f"must be a list of strings, not {value!r}")
    return value


def _seconds(value: object, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ManifestError(f"{source}: {key}", f"must be a non-negative number, not {value!r}")
    return float(value)
