"""What a module registers: endpoints with their auth, message types, capability flags."""

from __future__ import annotations

from pywatt.module import AnnouncedEndpoint, ModuleConfig
from pywatt.registrar import build_capabilities
from pywatt.wire import Capabilities, encode_json


def test_capabilities_carry_endpoints_auth_flags_and_custom_names() -> None:
    config = ModuleConfig.from_kwargs(
        endpoints=[AnnouncedEndpoint("/users", ["get", "post"], auth="jwt")],
        service_capabilities=["websocket", "user_management", "export"],
        version="v1",
    )
    caps = build_capabilities(config.announced(), config.service_capabilities, ["charge"])
    assert encode_json(caps, as_type=Capabilities) == (
        b'{"endpoints":[{"path":"/v1/users","methods":["GET","POST"],"auth":"jwt"}],'
        b'"message_types":["charge"],"additional_capabilities":{"custom":["export",'
        b'"user_management"],"http":true,"streaming":false,"websocket":true}}'
    )


def test_the_seed_flags_are_accepted_and_checked() -> None:
    config = ModuleConfig.from_kwargs(
        enable_tcp=True,
        enable_ipc=True,
        enable_service_discovery=True,
        enable_module_registration=True,
        enable_internal_messaging=True,
        tcp_config={"host": "127.0.0.1", "port": 9000, "pool_size": 2},
        service_capabilities=["a"],
    )
    assert config.enable_module_registration
    assert config.service_capabilities == ("a",)
    import pytest

    from pywatt import ConfigError

    with pytest.raises(ConfigError, match="tcp_config must be a dict"):
        ModuleConfig.from_kwargs(tcp_config=["x"])
    with pytest.raises(ConfigError, match="service_capabilities must be a list"):
        ModuleConfig.from_kwargs(service_capabilities="a")
