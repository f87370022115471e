"""``pywatt status --tree``, ``pywatt events`` and ``pywatt top``: rendering what the control
socket's ``tree`` and ``events`` commands return, as plain text (ANSI only to redraw ``top``'s
screen), so they work in any terminal and over SSH. Works on the JSON: loads no trio.
"""

from __future__ import annotations

import datetime
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ..control import call_control, stream_control

__all__ = ["format_tree", "format_trees", "print_events", "run_top", "top_frame"]

_CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear the screen


# --- trees ----------------------------------------------------------------------------------


def _walk(
    node: dict[str, Any], prefix: str = "", last: bool = True, top: bool = True
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(the tree-drawn label, the node) for ``node`` and every node below it, in order."""
    label = node["name"] if top else f"{prefix}{'└─ ' if last else '├─ '}{node['name']}"
    yield label, node
    children = node.get("children") or []
    below = "" if top else prefix + ("   " if last else "│  ")
    for index, child in enumerate(children):
        yield from _walk(child, below, index == len(children) - 1, top=False)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def format_tree(tree: dict[str, Any]) -> list[str]:
    """One supervision tree (``actors.TreeNode`` as JSON) as aligned lines."""
    rows: list[tuple[str, ...]] = [("NAME", "KIND", "STATE", "INC", "RESTARTS", "MAILBOX")]
    for label, node in _walk(tree):
        kind = node["kind"] if node.get("strategy") is None else f"sup/{node['strategy']}"
        mailbox = node.get("mailbox")
        box = "-" if mailbox is None else f"{mailbox['depth']}/{mailbox['capacity']}"
        rows.append(
            (label, kind, node["state"], str(node["incarnation"]), str(node["restarts"]), box)
        )
    return _table(rows)


def format_trees(reply: dict[str, Any]) -> str:
    """The ``tree`` reply: each module's tree (or why there is none), then the orchestrator's."""
    lines: list[str] = []
    for module in reply["modules"]:
        lines.append(f"module {module['id']} ({module['state']}, pid {module['pid'] or '-'})")
        if "tree" in module:
            lines.extend("  " + line for line in format_tree(module["tree"]))
        else:
            lines.append(f"  tree: {module['error']}")
        lines.append("")
    lines.append(f"orchestrator (pid {reply['pid']})")
    lines.extend("  " + line for line in format_tree(reply["orchestrator"]))
    return "\n".join(lines)


# --- events ---------------------------------------------------------------------------------


def describe(data: dict[str, Any]) -> str:
    """One ``pywatt events`` line for people, from its JSON object."""
    kind = data.get("kind")
    name = data.get("name", "")
    inc = data.get("incarnation")
    if kind == "started":
        text = f"{name} started (incarnation {inc})"
    elif kind == "stopped":
        text = f"{name} stopped (incarnation {inc})"
    elif kind == "crashed":
        text = f"{name} crashed (incarnation {inc}): {data.get('error')}"
    elif kind == "restarted":
        text = f"{name} restarting as incarnation {inc} in {data.get('delay', 0):.2f} s"
    elif kind == "gave_up":
        text = f"{name} gave up: {data.get('error')}"
    elif kind == "secret_rotated":
        acks = ", ".join(f"{m} {o}" for m, o in (data.get("outcome") or {}).items())
        text = f"rotated {', '.join(data.get('keys', []))} ({data.get('rotation_id')})"
        text += f": {acks}" if acks else ""
    elif kind == "channel_changed":
        whose = f" of {data['module']}" if data.get("module") else ""
        text = f"channel {data.get('channel')}{whose} {data.get('state')}"
        text += f": {data['reason']}" if data.get("reason") else ""
    elif kind == "module_state":
        text = f"module {data.get('module')} {data.get('previous')} -> {data.get('state')}"
        text += f" ({data['reason']})" if data.get("reason") else ""
    elif kind == "events_dropped":
        text = f"{data.get('count')} event(s) dropped here: a reader fell behind"
    else:
        text = json.dumps({k: v for k, v in data.items() if k not in ("source", "at")})
    at = data.get("at")
    when = (
        datetime.datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]
        if isinstance(at, int | float)
        else "--:--:--"
    )
    return f"{when}  {data.get('source', '?'):<14} {kind:<16} {text}"


def print_events(run_dir: str, *, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Print events live until the orchestrator ends (0) or Ctrl-C (130)."""
    try:
        for data in stream_control(run_dir, {"command": "events"}):
            out.write(json.dumps(data, separators=(",", ":")) if as_json else describe(data))
            out.write("\n")
            out.flush()
    except KeyboardInterrupt:
        return 130
    return 0


# --- top ------------------------------------------------------------------------------------


class _Rates:
    """Per-actor counters of the previous sample, to turn totals into rates."""

    def __init__(self) -> None:
        self.previous: dict[tuple[str, str], tuple[float, int, int, float]] = {}

    def rate(self, key: tuple[str, str], now: float, mailbox: dict[str, Any]) -> tuple[str, str]:
        """(messages/s, mean handling ms) since the last sample of ``key``."""
        processed = int(mailbox["processed"])
        timed, timed_seconds = int(mailbox.get("timed", 0)), float(mailbox.get("timed_seconds", 0))
        last = self.previous.get(key)
        self.previous[key] = (now, processed, timed, timed_seconds)
        if last is None or now <= last[0]:
            rate = "-"
        else:
            rate = f"{(processed - last[1]) / (now - last[0]):.1f}"
        if last is not None and timed > last[2]:
            latency = f"{(timed_seconds - last[3]) / (timed - last[2]) * 1000:.3f}"
        elif timed:
            latency = f"{timed_seconds / timed * 1000:.3f}"
        else:
            latency = "-"
        return rate, latency


def top_frame(reply: dict[str, Any], rates: _Rates, now: float) -> list[str]:
    """One screen of ``pywatt top`` from a ``tree`` reply."""
    modules = reply["modules"]
    clock = datetime.datetime.now().strftime("%H:%M:%S")
    lines = [f"pywatt top  {clock}  orchestrator pid {reply['pid']}, {len(modules)} module(s)"]
    sections = [
        (m["id"], f"{m['id']}  {m['state']}  pid {m['pid'] or '-'}  restarts {m['restarts']}", m)
        for m in modules
    ]
    sections.append(("orchestrator", "orchestrator", {"tree": reply["orchestrator"]}))
    for source, title, module in sections:
        lines.append("")
        lines.append(title)
        if "tree" not in module:
            lines.append(f"  tree: {module['error']}")
            continue
        rows: list[tuple[str, ...]] = [
            ("  ACTOR", "STATE", "INC", "RESTARTS", "MAILBOX", "MSG/S", "LATENCY MS")
        ]
        for label, node in _walk(module["tree"]):
            mailbox = node.get("mailbox")
            if mailbox is None:
                box, rate, latency = "-", "", ""
            else:
                box = f"{mailbox['depth']}/{mailbox['capacity']}"
                rate, latency = rates.rate((source, node["name"]), now, mailbox)
            rows.append(
                ("  " + label, node["state"], str(node["incarnation"]), str(node["restarts"]),
                 box, rate, latency)
            )  # fmt: skip
        lines.extend(_table(rows))
    return lines


def run_top(
    run_dir: str,
    *,
    interval: float,
    once: bool,
    out: TextIO = sys.stdout,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Redraw the frame every ``interval`` seconds until Ctrl-C; with ``once``, take two
    samples ``interval`` apart (so rates are real) and print one frame, without ANSI codes."""
    rates = _Rates()
    try:
        top_frame(call_control(run_dir, {"command": "tree"}), rates, clock())
        while True:
            time.sleep(interval)
            frame = top_frame(call_control(run_dir, {"command": "tree"}), rates, clock())
            if once:
                out.write("\n".join(frame) + "\n")
                out.flush()
                return 0
            size = shutil.get_terminal_size()
            shown = [line[: size.columns] for line in frame[: max(size.lines - 1, 1)]]
            out.write(_CLEAR + "\n".join(shown) + "\n")
            out.flush()
    except KeyboardInterrupt:
        return 130
