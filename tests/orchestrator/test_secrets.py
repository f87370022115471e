"""Secrets: fetch, unknown names, sources, and rotation in the order of decision 10."""

from __future__ import annotations

import hashlib
from pathlib import Path

import trio

from pywatt.orchestrator import ModuleKind

from .helpers import events, raw, running, wait_event


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


async def test_module_fetches_a_secret_given_explicitly() -> None:
    with trio.fail_after(10):
        async with running(raw("app", "--secret", "API_KEY"), secrets={"API_KEY": "k-123"}) as run:
            app = run.orch.module("app")
            await app.wait_announced()
    (got,) = [e for e in events(app) if e["event"].startswith("secret")]
    assert got == {**got, "event": "secret_ok", "name": "API_KEY", "digest": digest("k-123")}
    assert [(t.direction, t.op, t.detail) for t in app.traffic][:3] == [
        ("out", "init", f"listen {app.init_blob.listen if app.init_blob else ''}"),
        ("in", "get_secret", "API_KEY"),
        ("out", "secret", "API_KEY"),
    ]


async def test_unknown_secret_gets_secret_error_for_a_pywatt_module() -> None:
    with trio.fail_after(10):
        async with running(raw("app", "--secret", "MISSING")) as run:
            app = run.orch.module("app")
            (error,) = await wait_event(app, "secret_error")
    assert error["name"] == "MISSING"
    assert (
        error["error"] == "it is not set: pass --secret MISSING=... or add it to the secrets file"
    )


async def test_unknown_secret_gets_no_reply_for_a_foreign_module() -> None:
    spec = raw("rusty", "--secret", "MISSING", "--secret-timeout", "0.5", kind=ModuleKind.FOREIGN)
    with trio.fail_after(10):
        async with running(spec) as run:
            rusty = run.orch.module("rusty")
            (timeout,) = await wait_event(rusty, "secret_timeout")
            await rusty.wait_announced()
    assert timeout["name"] == "MISSING"
    assert not any(t.op == "secret_error" for t in rusty.traffic)
    assert "no reply (a foreign module cannot read secret_error" in run.text()


async def test_a_module_that_lists_its_secrets_gets_only_those() -> None:
    spec = raw("app", "--secret", "OTHER", "--secret", "MINE", secrets=["MINE"])
    with trio.fail_after(10):
        async with running(spec, secrets={"OTHER": "x-other", "MINE": "x-mine"}) as run:
            app = run.orch.module("app")
            await app.wait_announced()
    (refused,) = events(app, "secret_error")
    assert refused == {
        **refused,
        "name": "OTHER",
        "error": "it is not listed in the module's secrets",
    }
    (served,) = events(app, "secret_ok")
    assert served["digest"] == digest("x-mine")


async def test_environment_values_are_served_only_for_listed_names() -> None:
    environment = {"DB_URL": "postgres://u:p@h/db", "HOME_SECRET": "nope-nope"}
    listed = raw("listed", "--secret", "DB_URL", secrets=["DB_URL"])
    unlisted = raw("unlisted", "--secret", "HOME_SECRET")
    with trio.fail_after(10):
        async with running(listed, unlisted, environment=environment) as run:
            for handle in run.orch.modules:
                await handle.wait_announced()
    assert events(run.orch.module("listed"), "secret_ok")[0]["digest"] == digest(
        "postgres://u:p@h/db"
    )
    assert events(run.orch.module("unlisted"), "secret_error")[0]["name"] == "HOME_SECRET"


async def test_explicit_values_win_over_the_file(tmp_path: Path) -> None:
    secrets_file = tmp_path / ".env"
    secrets_file.write_text("A=from-file\nB='from file too'\n")
    spec = raw("app", "--secret", "A", "--secret", "B")
    with trio.fail_after(10):
        async with running(spec, secrets={"A": "explicit"}, secrets_file=str(secrets_file)) as run:
            app = run.orch.module("app")
            await app.wait_announced()
    assert [e["digest"] for e in events(app, "secret_ok")] == [
        digest("explicit"),
        digest("from file too"),
    ]


PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIBq7TdsT1pJ8mZrjk3F0dQx1lD8cZ9gJ3l0V2WkqJm0n
-----END PRIVATE KEY-----"""


async def test_a_secrets_file_serves_multi_line_pem_values_and_expands_variables(
    tmp_path: Path,
) -> None:
    secrets_file = tmp_path / ".env"
    secrets_file.write_text(
        f'SIGNING_KEY="{PEM}"\n'
        "DB_PASS=s3cret-pass\n"
        "DB_URL=postgres://${DB_USER}:${DB_PASS}@db.internal/app?port=${DB_PORT:-5432}\n"
        "LITERAL='${DB_PASS} stays as written'\n"
    )
    spec = raw("app", "--secret", "SIGNING_KEY", "--secret", "DB_URL", "--secret", "LITERAL")
    with trio.fail_after(10):
        async with running(
            spec, secrets_file=str(secrets_file), environment={"DB_USER": "svc"}
        ) as run:
            app = run.orch.module("app")
            await app.wait_announced()
    assert [(e["name"], e["digest"]) for e in events(app, "secret_ok")] == [
        ("SIGNING_KEY", digest(PEM)),
        ("DB_URL", digest("postgres://svc:s3cret-pass@db.internal/app?port=5432")),
        ("LITERAL", digest("${DB_PASS} stays as written")),
    ]


async def test_rotation_order_rotated_refetch_ack_then_heartbeat() -> None:
    spec = raw("app", "--secret", "API_KEY")
    with trio.fail_after(10):
        async with running(spec, raw("bystander"), secrets={"API_KEY": "old-key"}) as run:
            app = run.orch.module("app")
            await app.wait_announced()
            await run.orch.module("bystander").wait_announced()
            result = await run.orch.rotate("API_KEY", "new-key")
            (after_ack,) = await wait_event(app, "after_ack")
    assert result.rotation_id == "rot-1"
    assert result.ok
    assert list(result.outcomes) == ["app"]  # the bystander never fetched API_KEY
    # The orchestrator's side of the exchange, in order.
    ops = [(t.direction, t.op) for t in app.traffic]
    start = ops.index(("out", "rotated"))
    assert ops[start:] == [
        ("out", "rotated"),
        ("in", "get_secret"),
        ("out", "secret"),
        ("in", "rotation_ack"),
        ("out", "heartbeat"),
        ("out", "shutdown"),
    ]
    # The module's side: it was told, refetched the new value, and the line after its ack was
    # the heartbeat (which a Rust module discards).
    (rotated,) = events(app, "rotated")
    assert rotated["keys"] == ["API_KEY"]
    assert rotated["rotation_id"] == "rot-1"
    assert [e["digest"] for e in events(app, "secret_ok")] == [digest("old-key"), digest("new-key")]
    assert after_ack["op"] == "heartbeat"
    assert not events(run.orch.module("bystander"), "rotated")
    # Even at debug verbosity, the console shows names, never values.
    assert "old-key" not in run.text()
    assert "new-key" not in run.text()
    assert "-> app: secret API_KEY" in run.text()


async def test_rotation_with_a_rust_style_module_that_acks_before_refetching() -> None:
    spec = raw("rusty", "--secret", "TOKEN", "--ack-first", kind=ModuleKind.FOREIGN)
    with trio.fail_after(10):
        async with running(spec, secrets={"TOKEN": "t-one"}) as run:
            rusty = run.orch.module("rusty")
            await rusty.wait_announced()
            result = await run.orch.rotate("TOKEN", "t-two")
            await wait_event(rusty, "secret_ok", count=2)
    assert result.ok
    assert events(rusty, "after_ack")[0]["op"] == "heartbeat"
    assert [e["digest"] for e in events(rusty, "secret_ok")] == [digest("t-one"), digest("t-two")]


async def test_rotation_of_a_secret_nobody_holds_completes_at_once() -> None:
    with trio.fail_after(10):
        async with running(raw("app")) as run:
            await run.orch.module("app").wait_announced()
            result = await run.orch.rotate("UNUSED", "value-1")
    assert result.outcomes == {}
    assert "no running module holds them" in run.text()


async def test_reload_rotates_only_changed_values(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("# dev secrets\nA=one-a\nB=one-b\n")
    spec = raw("app", "--secret", "A", "--secret", "B")
    with trio.fail_after(10):
        async with running(spec, secrets_file=str(secrets_file)) as run:
            app = run.orch.module("app")
            await app.wait_announced()
            assert await run.orch.reload_secrets() is None
            secrets_file.write_text("A=one-a\nB=two-b\n")
            result = await run.orch.reload_secrets()
    assert result is not None
    assert result.keys == ("B",)
    assert result.ok
    assert events(app, "rotated")[0]["keys"] == ["B"]
    assert events(app, "secret_ok")[-1]["digest"] == digest("two-b")
