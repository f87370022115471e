"""JWT validation as an actor: an algorithm allow-list, keys from secrets with rotation,
claims checked (``exp``, ``nbf``, ``iss``, ``aud``, leeway, required claims), typed custom
claims, and middleware for FastAPI/Starlette and Flask. See docs/http-and-jwt.md.
"""

from ._actor import JWT_ACTOR as JWT_ACTOR
from ._actor import JwtValidatorActor as JwtValidatorActor
from ._actor import literal_keys as literal_keys
from ._actor import validate_jwt_token as validate_jwt_token
from ._children import jwt_children as jwt_children
from ._children import start_jwt as start_jwt
from ._claims import Claims as Claims
from ._claims import JwtClaims as JwtClaims
from ._claims import structure_claims as structure_claims
from ._config import ALLOWED_ALGORITHMS as ALLOWED_ALGORITHMS
from ._config import JwtConfig as JwtConfig
from ._config import JwtSettings as JwtSettings
from ._config import jwt_settings as jwt_settings
from ._errors import AlgorithmNotAllowed as AlgorithmNotAllowed
from ._errors import BadSignature as BadSignature
from ._errors import InvalidClaim as InvalidClaim
from ._errors import JwtConfigError as JwtConfigError
from ._errors import JwtError as JwtError
from ._errors import MalformedToken as MalformedToken
from ._errors import MissingClaim as MissingClaim
from ._errors import TokenExpired as TokenExpired
from ._errors import TokenNotYetValid as TokenNotYetValid
from ._errors import UnknownKey as UnknownKey
from ._errors import ValidatorUnavailable as ValidatorUnavailable
from ._keys import BoundKey as BoundKey
from ._keys import KeyRing as KeyRing
from ._keys import parse_keys as parse_keys
from ._messages import JWT_PROTOCOL as JWT_PROTOCOL
from ._messages import KeyInfo as KeyInfo
from ._messages import KeyStatus as KeyStatus
from ._messages import ValidateToken as ValidateToken
from ._middleware import CLAIMS_KEY as CLAIMS_KEY
from ._middleware import NoClaims as NoClaims
from ._middleware import bearer_token as bearer_token
from ._middleware import create_jwt_middleware as create_jwt_middleware
from ._middleware import extract_jwt_claims as extract_jwt_claims
from ._middleware import hold_test_key as hold_test_key
from ._service_options import JwtServiceOptions as JwtServiceOptions
from ._service_options import JwtServiceRequest as JwtServiceRequest
from ._service_options import comma_names as comma_names
from ._service_options import jwt_service_request as jwt_service_request
from ._validator import TokenValidator as TokenValidator
