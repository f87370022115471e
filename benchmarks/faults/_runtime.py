"""Scenarios against modules, the orchestrator and the actors in them: process kills and
stops, cut connections, crashed hub / router / registrar, crash storms, hostile local peers
and fuzzed input at the listeners (each in a ``_rt_*`` file; shared machinery in
``_rt_run``)."""

from __future__ import annotations

from . import _rt_actors, _rt_fuzz, _rt_hostile, _rt_process
from ._counts import Named

SCENARIOS: list[Named] = [
    Named("module_kill", _rt_process.module_kill),
    Named("module_stop", _rt_process.module_stop),
    Named("socket_reset", _rt_process.socket_reset),
    Named("hub_crash", _rt_process.hub_crash),
    Named("line_cut", _rt_process.line_cut),
    Named("router_crash", _rt_actors.router_crash),
    Named("registrar_crash", _rt_actors.registrar_crash),
    Named("crash_storm", _rt_actors.crash_storm),
    Named("hostile_peer", _rt_hostile.hostile_peer),
    Named("fuzzed_frames", _rt_fuzz.fuzzed_frames),
]
