"""One wording for an unknown key, option or name, with a did-you-mean."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "unknown_keys"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_keys(what: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """``"unknown module option 'secretz' (did you mean 'secrets'?)"``, or, when some name
    has no close match, ``"unknown key 'zz'; known: a, b"``.

    ``what`` names the kind of key (``"module option"``, ``"jwt_config key"``).
    """
    names = sorted(unknown)
    choices = sorted(known)
    hints = [did_you_mean(name, choices) for name in names]
    parts = [f"{name!r}{hint}" for name, hint in zip(names, hints, strict=True)]
    plural = "s" if len(names) > 1 else ""
    text = f"unknown {what}{plural} {', '.join(parts)}"
    if all(hints):  # the suggestion says it; the whole list would only bury it
        return text
    return f"{text}; known: {', '.join(choices)}"
