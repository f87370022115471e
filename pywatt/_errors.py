"""Errors shared by every part of pywatt."""

from __future__ import annotations


class PywattError(Exception):
    """Base of every error raised by pywatt (outside :mod:`pywatt.wire`)."""


class ConfigError(PywattError, ValueError):
    """The module's configuration is invalid."""


class BackendUnavailable(PywattError, ConnectionError):
    """A backend the module uses (a database, a cache) cannot be reached right now: its server
    is down or refused the connection. Retrying later may succeed (the backend reconnects by
    itself). The database and cache errors of that kind are subclasses
    (:class:`~pywatt.db.DatabaseConnectionError`, :class:`~pywatt.cache.CacheUnavailable`);
    an app that lets one escape gets a 503 naming the backend, not a 500."""
