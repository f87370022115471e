"""The registrar actor: announce, registration with capabilities, health, unregistration."""

from ._capabilities import KNOWN_CAPABILITIES as KNOWN_CAPABILITIES
from ._capabilities import build_capabilities as build_capabilities
from ._errors import RegistrationError as RegistrationError
from ._errors import RegistrationFailed as RegistrationFailed
from ._errors import RegistrationTimeout as RegistrationTimeout
from ._registrar import Announce as Announce
from ._registrar import GetRegistration as GetRegistration
from ._registrar import Register as Register
from ._registrar import Registrar as Registrar
from ._registrar import RegistrarMemory as RegistrarMemory
from ._registrar import RegistrationStatus as RegistrationStatus
from ._registrar import SetHealth as SetHealth
from ._registrar import Unregister as Unregister
from ._registrar import registrar_spec as registrar_spec
