"""The fault suite: real faults injected into real modules, servers and peers under traffic,
and every outcome counted.

``python -m benchmarks.faults [--seconds S] [--only NAME ...] [--out DIR]`` runs each
scenario for about S seconds (``just faults``: the bounded form CI runs; ``just soak
DURATION``: the long form) and writes ``benchmarks/results/faults.json``: per scenario and in
total, the faults injected, requests sent, succeeded, failed with a typed error, hung,
acknowledged writes lost, unexpected exceptions and secret bytes found in any output. The
run fails (exit 1) when any of the last four is not zero, or a scenario injected no fault.

A scenario is an ``async def run(budget: float, counts: Counts) -> None`` that injects its
faults while it drives traffic for about ``budget`` seconds and counts what happened. The
scenarios live in ``_runtime.py`` (processes, sockets, actor crashes, hostile peers, fuzzed
input) and ``_servers.py`` (database and cache servers restarted under load).
"""
