"""The secret store actor and the ``.env``-style secrets files it reads."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._dotenv import load_env_file as load_env_file
    from ._dotenv import parse_env_text as parse_env_text
    from ._store import STORE_NAME as STORE_NAME
    from ._store import FetchSecret as FetchSecret
    from ._store import ModuleGone as ModuleGone
    from ._store import ReloadSecretsFile as ReloadSecretsFile
    from ._store import RotateSecrets as RotateSecrets
    from ._store import Rotation as Rotation
    from ._store import RotationAcked as RotationAcked
    from ._store import RotationOutcome as RotationOutcome
    from ._store import RotationResult as RotationResult
    from ._store import SecretStore as SecretStore

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._dotenv": ["load_env_file", "parse_env_text"],
        "._store": [
            "FetchSecret",
            "ModuleGone",
            "ReloadSecretsFile",
            "RotateSecrets",
            "Rotation",
            "RotationAcked",
            "RotationOutcome",
            "RotationResult",
            "STORE_NAME",
            "SecretStore",
        ],
    },
)
