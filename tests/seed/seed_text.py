"""The seed's PHASE2 snippets, verbatim but for the package name (``pywatt_sdk`` is
``pywatt``). The tests build real module files around them; nothing here is edited."""

from __future__ import annotations

CONFIG_BASIC = """\
@pywatt_module(
    secrets=["DATABASE_URL", "JWT_SECRET"],
    rotate=True,
    endpoints=[
        AnnouncedEndpoint(path="/users", methods=["GET", "POST"], auth="jwt"),
        AnnouncedEndpoint(path="/health", methods=["GET"], auth=None),
    ],
    # Phase 2 features
    enable_database=True,
    enable_cache=True,
    enable_jwt=True,
    database_config={
        "type": DatabaseType.POSTGRESQL,
        "host": "localhost",
        "database": "myapp",
    },
    cache_config={
        "type": CacheType.REDIS,
        "host": "localhost",
        "port": 6379,
    },
    jwt_config={
        "secret_key": "your-secret-key",
        "algorithm": "HS256",
    }
)
async def create_app(state: AppState[MyUserState]):
    # Your app logic here
    pass
"""

CONFIG_ADVANCED = """\
@pywatt_module(
    # Enable all Phase 2 features
    enable_tcp=True,
    enable_ipc=True,
    enable_service_discovery=True,
    enable_module_registration=True,
    enable_database=True,
    enable_cache=True,
    enable_jwt=True,
    enable_internal_messaging=True,

    # Advanced configurations
    tcp_config={
        "host": "127.0.0.1",
        "port": 0,
        "pool_size": 10,
        "timeout": 30,
        "enable_tls": True,
    },
    database_config={
        "type": DatabaseType.POSTGRESQL,
        "host": "db.example.com",
        "database": "production",
        "pool_config": {
            "min_connections": 5,
            "max_connections": 20,
        }
    },
    service_capabilities=[
        "user_management",
        "real_time_analytics",
        "data_export",
    ]
)
async def create_app(state: AppState[MyUserState]):
    # Full-featured app with all Phase 2 capabilities
    pass
"""

DATABASE = """\
# Execute queries
users = await state.execute_query("SELECT * FROM users WHERE active = ?", [True])

# Use transactions (when available)
async with state.database.transaction() as tx:
    await tx.execute("INSERT INTO users (name) VALUES (?)", ["Alice"])
    await tx.execute("INSERT INTO logs (action) VALUES (?)", ["user_created"])
    await tx.commit()
"""

CACHE = """\
# Basic caching
await state.cache_set("user:123", user_data, ttl=3600)
user = await state.cache_get("user:123")

# Advanced operations
exists = await state.cache.exists("user:123")
new_count = await state.cache.increment("user_count")
"""

MESSAGING = """\
# Send notification
await state.send_message(
    "analytics:user_event",
    {"event": "login", "user_id": 123}
)

# Send request and get response
config = await state.send_request(
    "config:get_setting",
    {"key": "max_users"},
    response_type=dict
)
"""

DISCOVERY = """\
# Register as service provider
await state.register_service_provider(
    ServiceType.USER_MANAGEMENT,
    {
        "version": "1.0.0",
        "endpoints": ["/users", "/auth"],
        "capabilities": ["crud", "authentication"]
    }
)

# Discover other services
analytics_providers = await state.discover_service_providers(ServiceType.ANALYTICS)
"""

JWT_SETUP = """\
# In FastAPI
from pywatt.security import create_jwt_middleware

jwt_config = JwtConfig(secret_key="your-secret", algorithm="HS256")
middleware = create_jwt_middleware("fastapi", jwt_config)
app.add_middleware(middleware)
"""

JWT_HANDLER = """\
# In handlers
claims = extract_jwt_claims(request, "fastapi")
user_id = claims.sub
"""

ALL = {
    "config_basic": CONFIG_BASIC,
    "config_advanced": CONFIG_ADVANCED,
    "database": DATABASE,
    "cache": CACHE,
    "messaging": MESSAGING,
    "discovery": DISCOVERY,
    "jwt_setup": JWT_SETUP,
    "jwt_handler": JWT_HANDLER,
}


def indented(snippet: str, spaces: int = 4) -> str:
    """``snippet`` as the body of a function."""
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in snippet.splitlines(True))
