"""Lazy package exports (PEP 562): a package's public names are imported on first use.

``import pywatt`` and the ``pywatt`` command then load only what they touch (``pywatt
--help`` does not import trio). A package lists its names twice: under ``TYPE_CHECKING``
for type checkers, and in the table given here; ``tests/test_lazy_exports.py`` checks that
the two lists agree.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._extras import MissingExtra, extra_for


def attach(
    package: str, table: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Return ``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``table`` maps a submodule (relative, like ``"._cli"``) to the names it exports.
    """
    where = {name: module for module, names in table.items() for name in names}
    exported = sorted(where)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            imported = importlib.import_module(module, package)
        except ImportError as exc:
            extra = extra_for(exc)
            if extra is None:
                raise
            raise MissingExtra(extra, f"{package}.{name}") from exc
        value = getattr(imported, name)
        globals_of(package)[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        private = {name for name in globals_of(package) if name.startswith("_")}
        return sorted(private | set(exported))

    return __getattr__, __dir__, exported


def globals_of(package: str) -> dict[str, Any]:
    module = importlib.import_module(package)
    return module.__dict__
