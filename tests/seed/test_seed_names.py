"""The seed's names, as its PHASE2 page writes them, with ``pywatt_sdk`` renamed ``pywatt``.

Each test here failed before the name existed; the snippets themselves run inside real
modules in ``test_seed_snippets.py``.
"""

from __future__ import annotations

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
