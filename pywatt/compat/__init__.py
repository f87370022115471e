"""Porting from the reference Python SDK (``pywatt_sdk``): change the import lines to
``from pywatt.compat import ...`` and the module runs on pywatt.

Everything a reference module imports from ``pywatt_sdk`` and its subpackages
(``communication``, ``services``, ``data``, ``security``, ``internal``) is here under the same
name: pywatt's own object where the two agree (``ServiceType``, ``JwtConfig``,
``DatabaseType``, ...), the reference's behaviour where they differ (``pywatt_module`` with
its ``state_builder(init, secrets)``, ``config=AppConfig(...)`` and ``framework``; an
``AppState`` whose ``database`` is None when off; ``info`` and the other log helpers), and,
for what pywatt does not carry (``TcpChannel``, ``bootstrap_module``,
``create_database_connection``, ...), a name that imports but raises
:class:`NotSupported` on use, in one line saying what to use instead. docs/migration.md
has the whole table.
"""

from __future__ import annotations

from typing import Any

from pywatt._errors import ConfigError as ConfigError
from pywatt._errors import PywattError as PywattError
from pywatt.jwt import JwtClaims as JwtClaims
from pywatt.jwt import JwtConfig as JwtConfig
from pywatt.jwt import JwtError as JwtError
from pywatt.jwt import create_jwt_middleware as create_jwt_middleware
from pywatt.jwt import extract_jwt_claims as extract_jwt_claims
from pywatt.module import AnnouncedEndpoint as AnnouncedEndpoint
from pywatt.router import RemoteError, RequestTimeout, RouterError
from pywatt.secrets import FetchMode
from pywatt.secrets import Secret as Secret
from pywatt.secrets import SecretError as SecretError
from pywatt.secrets import SecretNotFound as SecretNotFound
from pywatt.wire import AnnounceBlob as AnnounceBlob
from pywatt.wire import CacheConfig as CacheConfig
from pywatt.wire import CachePolicy as CachePolicy
from pywatt.wire import CacheType as CacheType
from pywatt.wire import Capabilities as Capabilities
from pywatt.wire import ChannelCapabilities as ChannelCapabilities
from pywatt.wire import ChannelPreferences as ChannelPreferences
from pywatt.wire import ChannelType as ChannelType
from pywatt.wire import DatabaseConfig as DatabaseConfig
from pywatt.wire import DatabaseType as DatabaseType
from pywatt.wire import EndpointAnnounce as EndpointAnnounce
from pywatt.wire import HealthStatus as HealthStatus
from pywatt.wire import InitBlob as InitBlob
from pywatt.wire import ModuleInfo as ModuleInfo
from pywatt.wire import PoolConfig as PoolConfig
from pywatt.wire import ServiceProviderInfo as ServiceProviderInfo
from pywatt.wire import ServiceType as ServiceType

from ._config import AppConfig as AppConfig
from ._config import EncodingFormat as EncodingFormat
from ._decorator import pywatt_module as pywatt_module
from ._errors import NotSupported as NotSupported
from ._jwt import JwtValidator as JwtValidator
from ._jwt import create_jwt_token as create_jwt_token
from ._logging import critical as critical
from ._logging import debug as debug
from ._logging import error as error
from ._logging import get_logger as get_logger
from ._logging import info as info
from ._logging import init_module as init_module
from ._logging import redact_secrets as redact_secrets
from ._logging import register_secret_for_redaction as register_secret_for_redaction
from ._logging import safe_log as safe_log
from ._logging import warn as warn
from ._logging import warning as warning
from ._secrets import get_bool_secret as get_bool_secret
from ._secrets import get_float_secret as get_float_secret
from ._secrets import get_global_secret_client as get_global_secret_client
from ._secrets import get_int_secret as get_int_secret
from ._secrets import get_module_secret_client as get_module_secret_client
from ._secrets import get_secret as get_secret
from ._secrets import get_secrets as get_secrets
from ._secrets import get_string_secret as get_string_secret
from ._secrets import get_typed_secret as get_typed_secret
from ._state import AppState as AppState
from ._state import SecretClient as SecretClient
from ._state import TypedSecret as TypedSecret
from ._state import subscribe_secret_rotations as subscribe_secret_rotations
from ._unsupported import UNSUPPORTED

# The reference's names for pywatt's own objects (the same objects).
PyWattSDKError = PywattError
JwtAuthError = JwtError
SecretNotFoundError = SecretNotFound
SecretString = Secret
RequestMode = FetchMode
InternalMessagingError = RouterError
InternalMessagingTimeoutError = RequestTimeout
InternalMessagingApplicationError = RemoteError


# The reference's error names for pywatt's errors, imported on first use (the database and
# cache packages are not loaded by a module that does not use them). pywatt ends a module
# whose start fails before user code could catch anything, so ``BootstrapError`` is simply
# the base of pywatt's errors.
_LAZY_ALIASES: dict[str, tuple[str, str]] = {
    "BootstrapError": ("pywatt._errors", "PywattError"),
    "HandshakeError": ("pywatt.link", "InitBlobError"),
    "AnnouncementError": ("pywatt.link", "LinkError"),
    "NetworkError": ("pywatt.channels", "ChannelError"),
    "DatabaseError": ("pywatt.db", "DatabaseError"),
    "QueryError": ("pywatt.db", "QueryError"),
    "TransactionError": ("pywatt.db", "TransactionError"),
    "CacheError": ("pywatt.cache", "CacheError"),
    "ServiceDiscoveryError": ("pywatt.discovery", "DiscoveryError"),
    "RegistrationError": ("pywatt.registrar", "RegistrationError"),
}


def __getattr__(name: str) -> Any:
    """The reference's error names (``_LAZY_ALIASES``) and the names pywatt does not carry
    (see ``_unsupported``)."""
    if name in _LAZY_ALIASES:
        import importlib

        module, attribute = _LAZY_ALIASES[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    try:
        return UNSUPPORTED[name]
    except KeyError:
        raise AttributeError(f"module 'pywatt.compat' has no attribute {name!r}") from None
