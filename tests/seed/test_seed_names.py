"""The seed's names, as its PHASE2 page writes them, with ``pywatt_sdk`` renamed ``pywatt``.

Each test here failed before the name existed; the snippets themselves run inside real
modules in ``test_seed_snippets.py``.
"""

from __future__ import annotations

import pytest

from pywatt.wire import DatabaseType, ServiceType, encode_json


def test_database_type_postgresql_is_the_seed_spelling_of_postgres() -> None:
    assert DatabaseType.POSTGRESQL is DatabaseType.POSTGRES
    assert encode_json(DatabaseType.POSTGRESQL) == b'"postgres"'
    assert list(DatabaseType) == [DatabaseType.POSTGRES, DatabaseType.MYSQL, DatabaseType.SQLITE]


def test_service_type_carries_the_seed_service_names() -> None:
    assert ServiceType.custom("user_management") == ServiceType.USER_MANAGEMENT
    assert ServiceType.custom("analytics") == ServiceType.ANALYTICS
    assert encode_json(ServiceType.USER_MANAGEMENT) == b'{"Custom":"user_management"}'
    from pywatt.discovery import ServiceTypes

    assert ServiceTypes.ANALYTICS is ServiceType.ANALYTICS  # the older name stays an alias


def test_jwt_config_takes_the_seeds_algorithm_keyword() -> None:
    from pywatt.jwt import JwtConfig

    jwt_config = JwtConfig(secret_key="your-secret", algorithm="HS256")
    assert jwt_config.algorithms == ("HS256",)
    assert JwtConfig.from_value({"secret_key": "k", "algorithm": "RS256"}).algorithms == ("RS256",)


def test_jwt_config_takes_the_reference_sdks_verify_switches_where_they_agree() -> None:
    from pywatt.jwt import JwtConfig

    config = JwtConfig.from_value({"secret_key": "k", "algorithm": "HS256", "verify_exp": True})
    assert config.required_claims == ("exp",)
    assert JwtConfig(secret_key="k", verify_aud=True, audience="api").audience == ("api",)
    assert JwtConfig(secret_key="k", verify_aud=False, verify_iss=False).audience == ()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"verify_exp": False}, "verify_exp=False is not supported: pywatt checks exp whenever "
         "a token has one; pass required_claims=() to also accept tokens without exp"),
        ({"verify_aud": True}, "verify_aud=True needs the audience to check: pass audience=..."),
        ({"verify_iss": False, "issuer": "me"}, "verify_iss=False with an issuer: pywatt checks "
         "the issuer whenever one is given; leave issuer out instead"),
    ],
)  # fmt: skip
def test_a_verify_switch_pywatt_would_not_honour_is_one_line_saying_what_to_pass(
    options: dict[str, object], message: str
) -> None:
    from pywatt.jwt import JwtConfig, JwtConfigError

    with pytest.raises(JwtConfigError) as caught:
        JwtConfig.from_value({"secret_key": "k", **options})
    assert str(caught.value) == message
