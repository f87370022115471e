"""A module file that fails after declaring its module: the module must not run."""

from pywatt import AppState, pywatt_module


@pywatt_module()
async def create_app(state: AppState[None]) -> None:
    pass


raise RuntimeError("the file itself is broken")
