"""The reference SDK's module-level secret functions, over the running module's secrets
actor (one process is one module, so "the global client" is that module's)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pywatt.secrets import FetchMode, Secret

from ._state import _CURRENT, SecretClient, TypedSecret, current_state

__all__ = [
    "get_bool_secret",
    "get_float_secret",
    "get_global_secret_client",
    "get_int_secret",
    "get_module_secret_client",
    "get_secret",
    "get_secrets",
    "get_string_secret",
    "get_typed_secret",
]

T = TypeVar("T")


async def get_module_secret_client(
    orchestrator_api: str | None = None, module_id: str | None = None
) -> SecretClient:
    """The running module's :class:`SecretClient` (the arguments are not needed)."""
    return SecretClient(current_state())


def get_global_secret_client() -> SecretClient | None:
    """The running module's :class:`SecretClient`, or None outside a module."""
    return SecretClient(_CURRENT[-1]) if _CURRENT else None


async def get_secret(key: str, mode: FetchMode = FetchMode.CACHE_THEN_REMOTE) -> Secret:
    """The secret ``key`` of the running module (``expose_secret()`` gives its value)."""
    return await SecretClient(current_state()).get_secret(key, mode)


async def get_secrets(keys: Iterable[str]) -> list[Secret]:
    """The secrets ``keys``, in order."""
    return await SecretClient(current_state()).get_secrets(keys)


async def get_typed_secret(client: SecretClient, key: str, target_type: type[T]) -> TypedSecret[T]:
    return await client.get_typed(key, target_type)


async def get_string_secret(client: SecretClient, key: str) -> TypedSecret[str]:
    return await client.get_string(key)


async def get_int_secret(client: SecretClient, key: str) -> TypedSecret[int]:
    return await client.get_int(key)


async def get_float_secret(client: SecretClient, key: str) -> TypedSecret[float]:
    return await client.get_float(key)


async def get_bool_secret(client: SecretClient, key: str) -> TypedSecret[bool]:
    return await client.get_bool(key)
