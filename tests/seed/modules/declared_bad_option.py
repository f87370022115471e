"""A declared module with a misspelt option: the run fails, and the exit status says so."""

from pywatt import AppState, pywatt_module


@pywatt_module(secretz=["API_KEY"])
async def create_app(state: AppState[None]) -> None:
    pass
