"""The registrar actor: announce (and, with channels, registration and health)."""

from ._registrar import Announce as Announce
from ._registrar import Registrar as Registrar
