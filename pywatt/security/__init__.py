"""The seed's ``security`` package: JWT middleware and secrets under the names it uses.

``from pywatt.security import create_jwt_middleware`` is the seed's import with the
package renamed; everything here lives in :mod:`pywatt.jwt` and :mod:`pywatt.secrets`
(these are the same objects, not copies).
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from pywatt.jwt import JwtClaims as JwtClaims
    from pywatt.jwt import JwtConfig as JwtConfig
    from pywatt.jwt import JwtError as JwtError
    from pywatt.jwt import create_jwt_middleware as create_jwt_middleware
    from pywatt.jwt import extract_jwt_claims as extract_jwt_claims
    from pywatt.secrets import Secret as Secret
    from pywatt.secrets import SecretError as SecretError
    from pywatt.secrets import SecretNotFound as SecretNotFound

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "pywatt.jwt": [
            "JwtClaims",
            "JwtConfig",
            "JwtError",
            "create_jwt_middleware",
            "extract_jwt_claims",
        ],
        "pywatt.secrets": ["Secret", "SecretError", "SecretNotFound"],
    },
)
