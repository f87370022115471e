"""examples/bank.py and examples/shop.py under the embedded orchestrator: what
docs/supervision.md and docs/calling-modules.md say of them, checked.

The bank runs a supervisor of its own under the module's tree and serves its actors by name;
the shop calls the bank and reports each kind of failure a caller sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from pywatt.orchestrator import (
    Manifest,
    ModuleCallFailed,
    ModuleSpec,
    load_manifest,
    open_orchestrator,
)

EXAMPLES = Path(__file__).parents[2] / "examples"


async def test_the_bank_supervises_its_own_actors_under_the_module() -> None:
    manifest = Manifest(modules=[ModuleSpec.from_command("bank", str(EXAMPLES / "bank.py"))])
    with trio.fail_after(60):
        async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
            bank = orch.module("bank")
            await bank.wait_announced()

            async def ask(endpoint: str, payload: dict[str, Any] | None = None) -> Any:
                return await orch.request("bank", endpoint, payload or {})

            assert await ask("deposit", {"amount": 10}) is None  # a tell: no reply value
            assert await ask("deposit", {"amount": 20}) is None
            assert await ask("balance") == 30
            assert await ask("audit") == "auditor #1: balance 30"
            assert await ask("withdraw", {"amount": 5}) == 25

            # A reply error is an answer: the teller keeps running.
            with pytest.raises(ModuleCallFailed) as refused:
                await ask("withdraw", {"amount": 500})
            assert (refused.value.error_type, refused.value.remote_message) == (
                "InsufficientFunds",
                "balance 25 is less than 500",
            )
            assert await ask("withdraw", {"amount": 5}) == 20

            # A crash: the caller is told, the ledger restarts empty, rest_for_one restarts
            # the auditor after it.
            with pytest.raises(ModuleCallFailed) as crashed:
                await ask("corrupt")
            assert crashed.value.error_type == "ActorCrashed"
            assert crashed.value.remote_message == (
                "actor 'ledger' crashed while handling Corrupt: RuntimeError: ledger corrupted"
            )
            assert await ask("balance") == 0
            assert await ask("audit") == "auditor #2: balance 0"

            # Three more crashes make four restarts within 30 s: bank gives up, and
            # pywatt.services (one_for_one) restarts the whole bank. The process never restarts.
            for _ in range(3):
                with pytest.raises(ModuleCallFailed):
                    await ask("corrupt")
            await bank.wait_stderr("restarting actor bank as incarnation 2")
            assert await ask("deposit", {"amount": 7}) is None
            assert await ask("audit") == "auditor #5: balance 7"
            assert await ask("withdraw", {"amount": 2}) == 5  # the teller was never touched
            assert (bank.restarts, bank.incarnation) == (0, 1)


async def test_the_shop_calls_the_bank_and_sees_each_failure_typed() -> None:
    manifest = load_manifest(str(EXAMPLES / "shop.toml"))
    assert [spec.depends_on for spec in manifest.modules] == [(), ("bank",)]
    with trio.fail_after(60):
        async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
            await orch.module("shop").wait_announced()
            assert orch.module("bank").announce is not None  # depends_on: bank came first

            async def shop(endpoint: str, payload: dict[str, Any]) -> Any:
                return await orch.request("shop", endpoint, payload)

            async def probe(target: str) -> Any:
                return await shop("probe", {"target": target})

            await orch.request("bank", "deposit", {"amount": 10})
            assert await shop("buy", {"item": "tea", "price": 4}) == {
                "bought": True,
                "item": "tea",
                "balance": 6,
            }
            assert await shop("buy", {"item": "car", "price": 400}) == {
                "bought": False,
                "why": "balance 6 is less than 400",
            }
            assert await probe("bank:balance") == {"reply": 6}
            assert await shop("balance", {}) == 6  # through state.ref("bank/balance")
            undecodable = await shop(
                "probe", {"target": "bank:withdraw", "payload": {"amount": "lots"}}
            )
            assert (undecodable["raised"], undecodable["error_type"]) == (
                "RemoteCrash",
                "DecodeError",
            )  # the teller never saw it
            assert await probe("bank/balance") == {"reply": 6}
            assert await probe("bank:nothing") == {
                "raised": "NoSuchEndpoint",
                "error_type": "NoSuchEndpoint",
                "module": "bank",
                "endpoint": "nothing",
                "message": "module 'bank' serves no endpoint 'nothing'",
                "crashed": False,
            }
            assert await probe("nobody:x") == {
                "raised": "NoSuchModule",
                "error_type": "NoSuchModule",
                "module": "nobody",
                "endpoint": "x",
                "message": "no module named 'nobody'",
                "crashed": False,
            }
            assert await probe("bank:corrupt") == {
                "raised": "RemoteCrash",
                "error_type": "ActorCrashed",
                "module": "bank",
                "endpoint": "corrupt",
                "message": "actor 'ledger' crashed while handling Corrupt: RuntimeError: "
                "ledger corrupted",
                "crashed": True,
            }
            assert await shop("wait", {"module": "bank", "timeout": 5}) == {"reachable": True}

            await orch.stop_module("bank")
            unavailable = await probe("bank:balance")
            assert unavailable["raised"] == "ModuleUnavailable"
            assert unavailable["message"] == "module 'bank' is not running (no open channel)"
            assert await shop("buy", {"item": "tea", "price": 4}) == {
                "bought": False,
                "why": "the bank is closed",
            }
            waited = await shop("wait", {"module": "bank", "timeout": 0.5})
            assert (waited["raised"], waited["waited"]) == ("ModuleUnavailable", 0.5)

            # A handler whose own call failed: its caller gets a RemoteCrash from the
            # handler's module, never a NoSuchModule about the wrong module.
            with pytest.raises(ModuleCallFailed) as failed:
                await shop("wait", {"module": "nobody", "timeout": 0.5})
            assert failed.value.error_type == "pywatt.router._errors.NoSuchModule"
