"""A module declared and never run by hand, as the seed and the reference SDK write one."""

import logging

from pywatt import AppState, pywatt_module


@pywatt_module(secrets=[])
async def create_app(state: AppState[None]) -> None:
    greet(state)


def greet(state: AppState[None]) -> None:  # defined below: the module runs after the file
    logging.getLogger("declared_only").info("declared-only module %s is up", state.module_id)
