"""Caches as actors: one message protocol (:data:`CACHE`) answered by in-memory, Redis,
Memcached, file and orchestrator-proxy backends, and the facade modules use (``state.cache``).

Backends store bytes; :class:`CacheFacade` encodes values (JSON by default, MessagePack on
request) and never pickles. See docs/cache-backends.md for what each operation does on each
backend and docs/custom-providers.md for writing your own backend.
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._codec import Codec as Codec
    from ._config import backend_factory as backend_factory
    from ._config import cache_children as cache_children
    from ._config import cache_facade as cache_facade
    from ._errors import CacheBackendError as CacheBackendError
    from ._errors import CacheConfigError as CacheConfigError
    from ._errors import CacheError as CacheError
    from ._errors import CacheFull as CacheFull
    from ._errors import CacheProtocolError as CacheProtocolError
    from ._errors import CacheUnavailable as CacheUnavailable
    from ._errors import CodecError as CodecError
    from ._errors import CounterOverflow as CounterOverflow
    from ._errors import InvalidKey as InvalidKey
    from ._errors import NotAnInteger as NotAnInteger
    from ._errors import ValueTooLarge as ValueTooLarge
    from ._facade import CACHE_NAME as CACHE_NAME
    from ._facade import DEFAULT_TTL as DEFAULT_TTL
    from ._facade import CacheFacade as CacheFacade
    from ._file import FileCache as FileCache
    from ._memcached import MemcachedCache as MemcachedCache
    from ._memory import MemoryCache as MemoryCache
    from ._memory import MemoryStore as MemoryStore
    from ._messages import CACHE as CACHE
    from ._messages import CacheRequest as CacheRequest
    from ._messages import CacheStatistics as CacheStatistics
    from ._messages import Clear as Clear
    from ._messages import Decrement as Decrement
    from ._messages import Delete as Delete
    from ._messages import DeleteMany as DeleteMany
    from ._messages import Exists as Exists
    from ._messages import Get as Get
    from ._messages import GetMany as GetMany
    from ._messages import GetSet as GetSet
    from ._messages import Increment as Increment
    from ._messages import Set as Set
    from ._messages import SetMany as SetMany
    from ._messages import SetNx as SetNx
    from ._messages import Stats as Stats
    from ._policies import EvictionPolicy as EvictionPolicy
    from ._proxy import ProxyCache as ProxyCache
    from ._proxy_ops import error_text as error_text
    from ._proxy_ops import from_operation as from_operation
    from ._proxy_ops import to_result as to_result
    from ._redis import RedisCache as RedisCache
    from ._remote import Endpoint as Endpoint
    from ._stats import StatsRecorder as StatsRecorder

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._codec": ["Codec"],
        "._config": ["backend_factory", "cache_children", "cache_facade"],
        "._errors": [
            "CacheBackendError",
            "CacheConfigError",
            "CacheError",
            "CacheFull",
            "CacheProtocolError",
            "CacheUnavailable",
            "CodecError",
            "CounterOverflow",
            "InvalidKey",
            "NotAnInteger",
            "ValueTooLarge",
        ],
        "._facade": ["CACHE_NAME", "DEFAULT_TTL", "CacheFacade"],
        "._file": ["FileCache"],
        "._memcached": ["MemcachedCache"],
        "._memory": ["MemoryCache", "MemoryStore"],
        "._messages": [
            "CACHE",
            "CacheRequest",
            "CacheStatistics",
            "Clear",
            "Decrement",
            "Delete",
            "DeleteMany",
            "Exists",
            "Get",
            "GetMany",
            "GetSet",
            "Increment",
            "Set",
            "SetMany",
            "SetNx",
            "Stats",
        ],
        "._policies": ["EvictionPolicy"],
        "._proxy": ["ProxyCache"],
        "._redis": ["RedisCache"],
        "._proxy_ops": ["error_text", "from_operation", "to_result"],
        "._remote": ["Endpoint"],
        "._stats": ["StatsRecorder"],
    },
)
