"""``jwt_config`` as data: :class:`JwtSettings` survives unstructure -> structure unchanged,
and a mistake in the dict is one line naming the key, what is wrong, and for an unknown key
the allowed keys or a did-you-mean; what does not fit together is still :class:`JwtConfig`'s
one-line error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywatt import ConfigError
from pywatt._config import unstructure_config
from pywatt.jwt import (
    JwtConfig,
    JwtConfigError,
    JwtServiceOptions,
    JwtSettings,
    comma_names,
    jwt_service_request,
    jwt_settings,
)

_name = st.text(min_size=1, max_size=8)
_names = st.lists(_name, max_size=3).map(tuple)
_settings = st.builds(
    JwtSettings,
    algorithms=st.none() | st.lists(st.sampled_from(["HS256", "RS256"]), min_size=1).map(tuple),
    algorithm=st.none() | st.sampled_from(["HS256", "ES256", "Ed25519"]),
    key_secrets=_names,
    secret_key=st.none() | _name,
    public_key=st.none() | _name,
    key_id=st.none() | _name,
    issuer=st.none() | _name,
    audience=st.none() | _names,
    required_claims=_names,
    leeway=st.floats(0, 1e6, allow_nan=False),
    validation=st.sampled_from(["local", "proxy"]),
    proxy_config=st.dictionaries(_name, _name, max_size=3),
    max_token_size=st.integers(1, 2**20),
    cache_size=st.integers(0, 2**20),
    verify_exp=st.booleans(),
    verify_aud=st.none() | st.booleans(),
    verify_iss=st.none() | st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(_settings)
def test_jwt_settings_round_trip(value: JwtSettings) -> None:
    data = unstructure_config(value)
    assert isinstance(data, dict)
    assert jwt_settings(data) == value


def test_the_seed_spellings_are_read_as_pywatts() -> None:
    config = JwtConfig.from_value({"key_secret": "JWT_KEYS", "algorithm": "RS256"})
    assert config.key_secrets == ("JWT_KEYS",)
    assert config.algorithms == ("RS256",)
    assert jwt_settings({"audience": "api", "required_claims": []}).audience == ("api",)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"secret_key": "k", "leewy": 3},
         "jwt_config: unknown key 'leewy' (did you mean 'leeway'?)"),
        ({"secret_key": "k", "leeway": "ten"}, "jwt_config['leeway'] must be a number, not 'ten'"),
        ({"secret_key": "k", "algorithms": ["HS256", 3]},
         "jwt_config['algorithms'] must be a name or a list of names (item 1 is 3)"),
        ({"secret_key": "k", "audience": {"a": 1}},
         "jwt_config['audience'] must be a name or a list of names, not dict"),
        ({"secret_key": "k", "validation": "remote"},
         "jwt_config['validation'] must be 'local' or 'proxy', not 'remote'"),
        ({"secret_key": "k", "proxy_config": {"ttl": 30}},
         "jwt_config['proxy_config']['ttl'] must be a string, not 30"),
        ({"secret_key": "k", "verify_exp": "yes"},
         "jwt_config['verify_exp'] must be True or False, not 'yes'"),
        ({"key_secret": "A", "key_secrets": ["B"]},
         "jwt_config: give 'key_secrets' or 'key_secret', not both"),
        ("HS256", "jwt_config must be a dict, not str"),
    ],
)  # fmt: skip
def test_a_bad_key_or_value_is_one_line_naming_where(config: Any, message: str) -> None:
    with pytest.raises(JwtConfigError) as caught:
        JwtConfig.from_value(config)
    assert str(caught.value) == message
    assert isinstance(caught.value, ConfigError)


def test_an_unknown_key_lists_the_allowed_ones() -> None:
    with pytest.raises(JwtConfigError) as caught:
        JwtConfig.from_value({"secret_key": "k", "frobnicate": 1})
    text = str(caught.value)
    assert text.startswith("jwt_config: unknown key 'frobnicate'; known: algorithm, algorithms,")
    assert "key_secret," in text  # the seed's spelling is allowed too
    assert "\n" not in text


def test_settings_and_configs_pass_through() -> None:
    settings = jwt_settings({"secret_key": "k"})
    assert jwt_settings(settings) is settings
    config = JwtConfig.from_value(settings)
    assert JwtConfig.from_value(config) is config
    with pytest.raises(JwtConfigError, match="no key"):
        JwtConfig.from_value(JwtSettings())


_wire_value = st.none() | st.text(alphabet="abcdefgh,. ", max_size=10)


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        JwtServiceOptions,
        key_secrets=_wire_value,
        algorithms=_wire_value,
        issuer=_wire_value,
        audience=_wire_value,
        required_claims=_wire_value,
        leeway=_wire_value,
        key_id=_wire_value,
    )
)
def test_jwt_service_options_round_trip_through_their_map_of_strings(
    value: JwtServiceOptions,
) -> None:
    assert jwt_service_request({"config": value.to_wire()}).config == value


def test_a_module_asks_the_service_for_what_its_config_says() -> None:
    config = JwtConfig.from_value(
        {"key_secrets": ["A", "B"], "algorithms": ["HS256", "RS256"], "audience": "api"}
    )
    options = jwt_service_request({"config": JwtServiceOptions.of(config).to_wire()}).config
    assert comma_names(options.key_secrets) == ("A", "B")
    assert comma_names(options.algorithms) == ("HS256", "RS256")
    assert comma_names(options.audience) == ("api",)
    assert options.issuer is None
    assert options.key_id is None
    assert float(options.leeway or "") == config.leeway


@pytest.mark.parametrize(
    ("request_config", "message"),
    [
        ({"config": {"leeway": 30}},
         "Jwt service_request['config']['leeway'] must be a string, not 30"),
        ({"config": {"algorithm": "HS256"}},
         "Jwt service_request['config']: unknown key 'algorithm' "
         "(did you mean 'algorithms'?)"),
        ({"config": ["HS256"]}, "Jwt service_request['config'] must be a dict, not list"),
    ],
)  # fmt: skip
def test_a_bad_service_request_is_one_line_naming_where(request_config: Any, message: str) -> None:
    with pytest.raises(JwtConfigError) as caught:
        jwt_service_request(request_config)
    assert str(caught.value) == message
