"""Secrets as actors: providers, a TTL + LRU cache, versions, rotation and redaction."""

from ._cache import SecretCache as SecretCache
from ._errors import SecretError as SecretError
from ._errors import SecretNotFound as SecretNotFound
from ._errors import SecretTimeout as SecretTimeout
from ._errors import SecretUnavailable as SecretUnavailable
from ._messages import PROVIDER as PROVIDER
from ._messages import SECRETS as SECRETS
from ._messages import FetchMode as FetchMode
from ._messages import GetSecret as GetSecret
from ._messages import ProvideSecret as ProvideSecret
from ._messages import RotationNotice as RotationNotice
from ._messages import Secret as Secret
from ._messages import SecretPushed as SecretPushed
from ._messages import SecretRotated as SecretRotated
from ._messages import SecretStatistics as SecretStatistics
from ._messages import SecretStats as SecretStats
from ._messages import SetSecret as SetSecret
from ._messages import Subscribe as Subscribe
from ._messages import Unsubscribe as Unsubscribe
from ._orchestrator_provider import OrchestratorProvider as OrchestratorProvider
from ._providers import EnvProvider as EnvProvider
from ._providers import MemoryProvider as MemoryProvider
from ._providers import StoreSecret as StoreSecret
from ._secrets import SecretsActor as SecretsActor
from ._secrets import SecretsKept as SecretsKept
