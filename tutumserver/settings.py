"""Settings, every knob read from an environment variable with a default for the embedded mode.

The embedded mode (no variable set) runs on a SQLite file and kombu's filesystem broker inside
TUTUM_DATA_DIR; production sets DATABASE_URL, CELERY_BROKER_URL and SECRET_KEY.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(env_str("TUTUM_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key(filename: str = "secret_key") -> str:
    """A key generated once into the data directory, so sessions survive restarts in embedded mode."""
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or _embedded_secret_key()
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "apps.dashboard",
    "apps.core",
    "apps.accounts",
    "apps.nodes",
    "apps.stacks",
    "apps.services",
    "apps.containers",
    "apps.images",
    "apps.streams",
    "apps.actions",
    "orchestrator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The dashboard's forms (DRF's API views are exempt: they authenticate every request themselves).
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.core.middleware.ApiResponseHeadersMiddleware",
    "apps.actions.context.ActionContextMiddleware",
]

ROOT_URLCONF = "tutumserver.urls"
WSGI_APPLICATION = "tutumserver.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'tutum.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A kept connection is checked (SELECT 1) before a request uses it: without the check, every API
        # thread answered one 500 after a Postgres restart (measured: 8 of 200 requests).
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
# Lets several test runs share one Postgres server without sharing a test database.
if env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The API and the worker share the file; wait for the writer instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

CACHE_URL = env_str("TUTUM_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "apps.core.cache.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# The dashboard (apps/dashboard): a session after a username and password login, for this long.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/services/"
SESSION_COOKIE_AGE = env_int("TUTUM_SESSION_SECONDS", 14 * 24 * 3600)
# Behind HTTPS, the session and CSRF cookies are sent over HTTPS only.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("TUTUM_SECURE_COOKIES", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiKeyAuthentication",
        "apps.accounts.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.negotiation.JsonOnlyNegotiation",
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.MetaObjectsPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.json_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 25,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "tutumserver: Tutum HTTP API v1",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One name per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "ServiceStateEnum": "apps.services.choices.ServiceState",
        "ApplicationStateEnum": "apps.services.api_2014.serializers.APPLICATION_STATES",
        "ContainerStateEnum": "apps.containers.choices.ContainerState",
        "NodeStateEnum": "apps.nodes.models.NodeState",
        "RecoveryPolicyEnum": "apps.services.choices.RecoveryPolicy",
        "AutodestroyPolicyEnum": "apps.services.choices.AutodestroyPolicy",
        "RoleEnum": "apps.services.choices.Role",
    },
    # The error answers every operation can give, from what the operation is (apps/core/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.add_error_responses",
    ],
}

# Celery
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
BROKER_FOLDER = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_FOLDER / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER / "queue"),
        "data_folder_out": str(BROKER_FOLDER / "queue"),
        "processed_folder": str(BROKER_FOLDER / "processed"),
        "control_folder": str(BROKER_FOLDER / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    # Redelivery of a message whose worker died before acknowledging it. Not lowered for a prompt recovery:
    # a live worker's message older than this is delivered again, and a retry waiting for its countdown (up
    # to 30 s) or a long pull must not be; a worker resumes a dead one's work from the database instead.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("TUTUM_BROKER_VISIBILITY_TIMEOUT", 300)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Orchestration
DOCKER_HOST = env_str("DOCKER_HOST", "unix:///var/run/docker.sock")
TUTUM_INSTANCE = env_str("TUTUM_INSTANCE", "default")
TUTUM_PUBLIC_DOMAIN = env_str("TUTUM_PUBLIC_DOMAIN", "localhost")
TUTUM_PUBLISH_ADDRESS = env_str("TUTUM_PUBLISH_ADDRESS", "127.0.0.1")
TUTUM_API_URL = env_str("TUTUM_API_URL", "http://127.0.0.1:8000").rstrip("/")
# Where the stream API (WebSockets) answers; containers and the run command are told so.
TUTUM_STREAM_HOST = env_str("TUTUM_STREAM_HOST", "ws" + TUTUM_API_URL.removeprefix("http")).rstrip("/")

# Tenant safety: container settings that hand the host to whoever sets them. Staff may always use them;
# other users only where the operator allows each one. The Docker socket is never bound for non-staff.
TUTUM_ALLOW_PRIVILEGED = env_bool("TUTUM_ALLOW_PRIVILEGED", False)
TUTUM_ALLOW_HOST_NETWORK = env_bool("TUTUM_ALLOW_HOST_NETWORK", False)
TUTUM_ALLOW_HOST_PID = env_bool("TUTUM_ALLOW_HOST_PID", False)
TUTUM_ALLOW_HOST_PATHS = env_bool("TUTUM_ALLOW_HOST_PATHS", False)
TUTUM_ALLOW_DEVICES = env_bool("TUTUM_ALLOW_DEVICES", False)
TUTUM_ALLOW_CAP_ADD = env_bool("TUTUM_ALLOW_CAP_ADD", False)
TUTUM_ALLOW_SECURITY_OPT = env_bool("TUTUM_ALLOW_SECURITY_OPT", False)
TUTUM_ALLOW_CGROUP_PARENT = env_bool("TUTUM_ALLOW_CGROUP_PARENT", False)
TUTUM_TERMINATED_RETENTION_SECONDS = env_int("TUTUM_TERMINATED_RETENTION_SECONDS", 300)
# Rendered list pages are kept this long at most (apps/core/listcache.py); 0 turns the cache off.
TUTUM_LIST_CACHE_SECONDS = env_int("TUTUM_LIST_CACHE_SECONDS", 60)
TUTUM_MAX_CONTAINERS_PER_APPLICATION = env_int("TUTUM_MAX_CONTAINERS_PER_APPLICATION", 100)
# Encrypts registry passwords (a Fernet key, or any string: a Fernet key is derived from it with SHA-256).
TUTUM_CREDENTIALS_KEY = env_str("TUTUM_CREDENTIALS_KEY") or _embedded_secret_key("credentials_key")
# The API checks registry credentials through this function (apps/ does not import orchestrator/).
TUTUM_REGISTRY_LOGIN = env_str("TUTUM_REGISTRY_LOGIN", "orchestrator.images.check_registry_login")
# The API checks an engine it registers as a node through this function (apps/ does not import orchestrator/).
TUTUM_ENGINE_PROBE = env_str("TUTUM_ENGINE_PROBE", "orchestrator.nodes.probe_engine")
# A node that has not answered for this long is lost: its containers that heal are re-created elsewhere.
TUTUM_NODE_LOST_AFTER_SECONDS = env_int("TUTUM_NODE_LOST_AFTER_SECONDS", 30)
TUTUM_STOP_TIMEOUT_SECONDS = env_int("TUTUM_STOP_TIMEOUT_SECONDS", 10)
TUTUM_SWEEP_INTERVAL_SECONDS = env_int("TUTUM_SWEEP_INTERVAL_SECONDS", 15)
TUTUM_STUCK_AFTER_SECONDS = env_int("TUTUM_STUCK_AFTER_SECONDS", 30)
TUTUM_GIVE_UP_AFTER_SECONDS = env_int("TUTUM_GIVE_UP_AFTER_SECONDS", 600)
TUTUM_RESTART_BACKOFF_SECONDS = env_int("TUTUM_RESTART_BACKOFF_SECONDS", 10)
# Recovery (docs/decisions.md): a task whose database or broker connection fails tries again every 0.5 s
# for this long (0: it fails, and the sweep takes its work up once stuck); a worker that connects to the
# broker (start, reconnect) converges all work in progress at once (off: that work waits for the sweep).
TUTUM_OUTAGE_RETRY_SECONDS = env_int("TUTUM_OUTAGE_RETRY_SECONDS", 60)
TUTUM_RESUME_ON_CONNECT = env_bool("TUTUM_RESUME_ON_CONNECT", True)
# The API reads container logs through this function (apps/ does not import orchestrator/).
TUTUM_LOG_READER = env_str("TUTUM_LOG_READER", "orchestrator.logs.read_container_logs")

# Streams (apps/streams): the WebSockets, served beside the REST API by one ASGI server (tutumserver/asgi.py).
ASGI_APPLICATION = "tutumserver.asgi.application"
# The channel layer is on Redis when there is one (TUTUM_CHANNEL_LAYER_URL, else a Redis broker), in the process
# otherwise (the embedded mode).
TUTUM_CHANNEL_LAYER_URL = env_str("TUTUM_CHANNEL_LAYER_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # The layer blocks 5 s on Redis for each receive: redis-py's default 5 s socket timeout would end it.
            "CONFIG": {"hosts": [{"address": TUTUM_CHANNEL_LAYER_URL, "socket_timeout": 30}]},
        }
        if TUTUM_CHANNEL_LAYER_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}
# The streams reach a container's node through this function (apps/ does not import orchestrator/).
TUTUM_STREAM_DRIVER = env_str("TUTUM_STREAM_DRIVER", "orchestrator.driver.driver_for")
# Messages waiting for one client; a client that leaves the queue full this long is dropped with a message.
TUTUM_STREAM_QUEUE_SIZE = env_int("TUTUM_STREAM_QUEUE_SIZE", 1000)
TUTUM_STREAM_SLOW_CLIENT_SECONDS = env_int("TUTUM_STREAM_SLOW_CLIENT_SECONDS", 10)
# How often a follow looks for containers that joined a service, or a stopped container running again.
TUTUM_STREAM_POLL_SECONDS = float(env_str("TUTUM_STREAM_POLL_SECONDS", "1"))
# Events are kept this long for a client that reconnects with `?since=<event id>`.
TUTUM_EVENT_RETENTION_SECONDS = env_int("TUTUM_EVENT_RETENTION_SECONDS", 3600)
# A subscriber looks back this far for events that committed after others with higher ids.
TUTUM_EVENT_LOOKBACK_SECONDS = env_int("TUTUM_EVENT_LOOKBACK_SECONDS", 5)
TUTUM_CONTAINER_SIZES = {
    "XS": (256, 256),
    "S": (512, 512),
    "M": (1024, 1024),
    "L": (2048, 2048),
    "XL": (4096, 4096),
}

# Authentication throttling (apps/accounts/throttling.py), per window: wrong keys per client address and wrong
# passwords per (address, username); wrong passwords per address, for any username.
TUTUM_AUTH_FAILURES_ALLOWED = env_int("TUTUM_AUTH_FAILURES_ALLOWED", 10)
TUTUM_AUTH_ADDRESS_FAILURES_ALLOWED = env_int("TUTUM_AUTH_ADDRESS_FAILURES_ALLOWED", 30)
TUTUM_AUTH_FAILURE_WINDOW_SECONDS = env_int("TUTUM_AUTH_FAILURE_WINDOW_SECONDS", 60)
# A verified password (HTTP Basic on every request, as `tutum login` stores it) is not hashed again for this long.
TUTUM_PASSWORD_CHECK_CACHE_SECONDS = env_int("TUTUM_PASSWORD_CHECK_CACHE_SECONDS", 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
