"""pywatt: the Python SDK for PyWatt modules, built on the :mod:`actors` runtime."""

__version__ = "0.1.0"
