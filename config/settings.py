"""labshare settings: one module, every environment variable read once through config.env helpers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    env_bool,
    env_database,
    env_email,
    env_int,
    env_list,
    env_networks,
    env_str,
    env_timezone,
)
from core.requestid import carry_into_job
from tools import localdb

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Environment -----------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    # Fail closed: with DEBUG off nothing runs on a key everyone can read in this file.
    if not DEBUG:
        raise ImproperlyConfigured(
            'SECRET_KEY is not set and DEBUG is off: set SECRET_KEY (e.g. python -c "import secrets; '
            'print(secrets.token_urlsafe(50))"), or DEBUG=1 on a development machine '
            "(make run, make test and make lint set what they need)."
        )
    SECRET_KEY = "labshare-development-key-not-for-production-0123456789abcdef"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
REDIS_URL = env_str("REDIS_URL") or None
TIME_ZONE = env_timezone("TIME_ZONE", "Asia/Ho_Chi_Minh")

# With no DATABASE_URL the project-local cluster is used (see tools/localdb.py).
DATABASES = {"default": env_database("DATABASE_URL", localdb.running_url())}
# Django's PostgreSQL backend with a pool that recovers within a second of a restart (config/db/).
DATABASES["default"]["ENGINE"] = "config.db"
DATABASES["default"]["TEST"] = {"NAME": env_str("LABSHARE_TEST_DB", "test_labshare")}
DATABASES["default"].setdefault("OPTIONS", {})
# A connection pool per process (psycopg_pool, built into Django 5.1+): opening a connection costs
# ~9 ms (SCRAM authentication and a new backend process), more than a warm booking request. Not
# CONN_MAX_AGE: under ASGI each request runs in a thread of its own, so per-thread persistent
# connections would pile up. Each request borrows a connection and gives it back when it ends;
# the health check replaces one the server dropped (restart, idle timeout) before it is used.
# DATABASE_POOL_MAX=0 turns pooling off (a connection per request).
_pool_max = env_int("DATABASE_POOL_MAX", 10, minimum=0)
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if _pool_max:
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": min(2, _pool_max), "max_size": _pool_max, "timeout": 10}
DATABASES["default"]["OPTIONS"].setdefault("application_name", "labshare")
# No lock wait longer than this, on every connection (a request never hangs behind another: past it
# a booking answers 409 lock_timeout with Retry-After). A setting of the connection, so it costs no
# statement per transaction; 0 turns it off (e.g. for a one-off `migrate` beside a busy app).
LOCK_TIMEOUT_MS = env_int("LABSHARE_LOCK_TIMEOUT_MS", 3000, minimum=0)
if LOCK_TIMEOUT_MS:
    _options = DATABASES["default"]["OPTIONS"].get("options", "")
    DATABASES["default"]["OPTIONS"]["options"] = f"{_options} -c lock_timeout={LOCK_TIMEOUT_MS}".strip()

_email = env_email("EMAIL_URL", "console://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or None
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "labshare <no-reply@labshare.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Hostile input -----------------------------------------------------------------------------
# A request body above this many bytes is refused before it is parsed (413 request_too_large in
# the API); file uploads stream to disk and are not counted. Django's own default, configurable.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LABSHARE_MAX_BODY_BYTES", 2_621_440, minimum=1024)
# JSON bodies nested deeper than this are refused (400 json_too_deep); ours need three levels.
LABSHARE_API_MAX_JSON_DEPTH = env_int("LABSHARE_API_MAX_JSON_DEPTH", 32, minimum=4)

# --- Time-driven jobs (bookings/tasks.py, run by `manage.py procrastinate worker`) -------------
# A request awaiting approval holds its slot this long (never past its start; per-lab policy wins).
LABSHARE_REQUEST_HOLD_HOURS = env_int("LABSHARE_REQUEST_HOLD_HOURS", 48, minimum=1)
# The first in line on a waitlist holds a freed slot this long (never past the slot's start).
LABSHARE_WAITLIST_HOLD_MINUTES = env_int("LABSHARE_WAITLIST_HOLD_MINUTES", 30, minimum=1)
# E-mail reminders 24 h and 1 h before a confirmed booking.
LABSHARE_REMINDERS_ENABLED = env_bool("LABSHARE_REMINDERS_ENABLED", True)
# The safety-net sweep that catches any overdue expiry, no-show, completion or lapsed hold.
LABSHARE_JOBS_SWEEP_CRON = env_str("LABSHARE_JOBS_SWEEP_CRON", "*/5 * * * *")
# The worker listens to the booking queues only; listen/notify wakes it at once, polling is a fallback.
# Workers write a heartbeat this often; a job whose worker has been silent for
# LABSHARE_STALLED_JOB_SECONDS is put back in the queue (core.retry_stalled_jobs, on its cron).
LABSHARE_WORKER_HEARTBEAT_SECONDS = env_int("LABSHARE_WORKER_HEARTBEAT_SECONDS", 10, minimum=1)
LABSHARE_STALLED_JOB_SECONDS = env_int("LABSHARE_STALLED_JOB_SECONDS", 60, minimum=2)
LABSHARE_STALLED_JOBS_CRON = env_str("LABSHARE_STALLED_JOBS_CRON", "* * * * *")
PROCRASTINATE_WORKER_DEFAULTS = {
    "queues": ["bookings", "notifications", "billing", "webhooks", "accounts"],
    "fetch_job_polling_interval": 5.0,
    "update_heartbeat_interval": float(LABSHARE_WORKER_HEARTBEAT_SECONDS),
    # A worker starting up forgets the rows of workers silent this long (their jobs become stalled).
    "stalled_worker_timeout": float(LABSHARE_STALLED_JOB_SECONDS),
    # A job runs under the request id of the request that deferred it (core/requestid.py).
    "task_middleware": [carry_into_job],
}

# --- Webhooks (webhooks/) ----------------------------------------------------------------------
# Private networks webhooks may still be sent to (CIDR, comma-separated), e.g. an on-site server
# "10.20.0.0/16", or "127.0.0.0/8" for tests. Empty: only public addresses (and https) are allowed.
LABSHARE_WEBHOOK_ALLOWED_NETWORKS = env_networks("LABSHARE_WEBHOOK_ALLOWED_NETWORKS", [])
LABSHARE_WEBHOOK_TIMEOUT_SECONDS = env_int("LABSHARE_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# How long events and their delivery log are kept.
LABSHARE_WEBHOOK_LOG_DAYS = env_int("LABSHARE_WEBHOOK_LOG_DAYS", 90, minimum=1)

# --- Accounts and personal data (accounts/) ---------------------------------------------------
# Self sign-up with e-mail verification (off: accounts come from the admin or the university).
LABSHARE_SIGNUP_ENABLED = env_bool("LABSHARE_SIGNUP_ENABLED", True)
# Accounts nobody used for this many days are anonymised by a nightly job (0: never).
LABSHARE_RETENTION_INACTIVE_DAYS = env_int("LABSHARE_RETENTION_INACTIVE_DAYS", 3 * 365, minimum=0)
# How many days before that the person is warned by e-mail (0: no warning); the account is
# anonymised only once the warning is this old, so it always comes first.
LABSHARE_RETENTION_WARNING_DAYS = env_int("LABSHARE_RETENTION_WARNING_DAYS", 30, minimum=0)
if LABSHARE_RETENTION_INACTIVE_DAYS and LABSHARE_RETENTION_WARNING_DAYS >= LABSHARE_RETENTION_INACTIVE_DAYS:
    raise ImproperlyConfigured("LABSHARE_RETENTION_WARNING_DAYS must be less than LABSHARE_RETENTION_INACTIVE_DAYS")
# Sign-ups never verified are anonymised after this many days.
LABSHARE_UNVERIFIED_ACCOUNT_DAYS = env_int("LABSHARE_UNVERIFIED_ACCOUNT_DAYS", 14, minimum=1)

# --- University sign-in (OpenID Connect, mozilla-django-oidc) -----------------------------------
# On when OIDC_RP_CLIENT_ID is set; then every endpoint below must be set too.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID") or ""
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET") or ""
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT") or ""
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT") or ""
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT") or ""
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT") or ""
# The issuer the ID token must name (``iss``); the audience (``aud``) must be our client id.
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER") or ""
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
# The name on the button: "Đăng nhập bằng tài khoản EIU / Sign in with EIU".
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATE_CLASS = "accounts.oidc.SignInView"
OIDC_CALLBACK_CLASS = "accounts.oidc.CallbackView"
if OIDC_ENABLED:
    _missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
            "OIDC_OP_ISSUER",
        )
        if not globals()[name]
    ]
    if _missing:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"OIDC_RP_CLIENT_ID is set, so these must be too: {', '.join(_missing)}")
# --- Billing (billing/) -----------------------------------------------------------------------
# Days an issued statement may stay unpaid before it is overdue (and its reminder e-mail goes out).
LABSHARE_STATEMENT_DUE_DAYS = env_int("LABSHARE_STATEMENT_DUE_DAYS", 15, minimum=1)
# When the job closes last month's statements: the day of the month (a few days leave time for
# corrections), at 02:00 in the server's zone. 0 turns the automatic close off (managers close).
LABSHARE_STATEMENT_CLOSE_DAY = env_int("LABSHARE_STATEMENT_CLOSE_DAY", 5, minimum=0)
# Whether a no-show is billed like a booking that was used (the lab kept the machine for it).
LABSHARE_BILL_NO_SHOWS = env_bool("LABSHARE_BILL_NO_SHOWS", False)
# The shared secret of the bank's transfer notifications (HMAC-SHA256); unset: the endpoint refuses all.
LABSHARE_BANK_WEBHOOK_SECRET = env_str("LABSHARE_BANK_WEBHOOK_SECRET") or ""
# A notification older (or newer) than this many seconds is refused: a captured request cannot be replayed later.
LABSHARE_BANK_WEBHOOK_TOLERANCE = env_int("LABSHARE_BANK_WEBHOOK_TOLERANCE", 300, minimum=1)

# --- Devices at the machines (devices/) -----------------------------------------------------
# The Ed25519 seed (base64 of 32 bytes) that signs devices' allow-lists; unset: derived from SECRET_KEY.
LABSHARE_DEVICE_SIGNING_KEY = env_str("LABSHARE_DEVICE_SIGNING_KEY") or None

# --- Applications ----------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",  # login protection (core/login_guard.py)
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    # Hashed API tokens with an expiry (api.ApiToken, on knox's model and hashing; KNOX_TOKEN_MODEL).
    "knox",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "procrastinate.contrib.django",
    "schedule",
    "core",
    "labs",
    "equipment",
    "bookings",
    "accounts",
    "webhooks",
    "billing",
    "reports",
    "import_export",
    "ops",
    "devices",
    "api",
    "frontend",
    "demo",
]

MIDDLEWARE = [
    # First: the request id is bound (and the request counted) around everything else.
    "ops.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last to see a view's exception: a read that lost its database connection runs once more.
    "config.db.retry.RetryReadsOnLostConnection",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After sign-in: someone who never consented to the service is asked before anything else.
    "frontend.middleware.ConsentGateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: marks locked-out sign-ins; the login views answer them (core/login_guard.py).
    "axes.middleware.AxesMiddleware",
]

# --- Sign-in protection (django-axes, core/login_guard.py) ------------------------------------
AUTHENTICATION_BACKENDS = [
    "core.login_guard.LoginGuardBackend",  # refuses locked accounts and addresses before the password check
    "django.contrib.auth.backends.ModelBackend",
    # University sign-in (accounts/oidc.py): does nothing unless OIDC is configured (OIDC_RP_CLIENT_ID).
    "accounts.oidc.UniversityBackend",
]
# Failed sign-ins are counted where every process sees them: in Redis (the shared cache, CACHES
# below) when REDIS_URL is set, else in PostgreSQL (axes' own tables, listed in the admin).
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler" if REDIS_URL else "axes.handlers.database.AxesDatabaseHandler"
# Per account and per address: either reaching the limit locks (one campus NAT shares an address,
# so the limit is not tiny).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env_int("LABSHARE_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LABSHARE_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.login_guard.keep_response"
AXES_VERBOSE = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time -----------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our own date and time formats per language (config/formats/): dd/mm/yyyy input in the admin and forms.
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

# --- Static and media ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
# Browser assets installed by `make install` (npm ci, from package-lock.json) and served from
# node_modules, never copied into the repository; pages work without them (progressive enhancement).
STATICFILES_DIRS = [
    (prefix, BASE_DIR / "node_modules" / folder)
    for prefix, folder in (("vendor/htmx", "htmx.org/dist"), ("vendor/event-calendar", "@event-calendar/build/dist"))
    if (BASE_DIR / "node_modules" / folder).is_dir()
]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))

# --- Cache (DRF throttles, sign-in lock-outs) -------------------------------------------------
# With REDIS_URL every process shares one cache, so a throttle's limit (and a sign-in lock-out)
# holds across all web processes and hosts; without it each process counts on its own (one
# process: `make run`; lock-outs then count in PostgreSQL, see AXES_HANDLER).
# Sessions stay in PostgreSQL: Redis here runs without persistence, and a restart must not sign
# everybody out.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "labshare",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Channels --------------------------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: one PUBLISH per group send, fanned out in each daphne process. The list-based
            # core layer dropped a few of 100 screens' messages in bench/bench_ws.py (cf. django/channels
            # #1683); live updates are fire-and-forget anyway, screens re-read the snapshot on reconnect.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- REST framework --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes "not signed in" a 401, not a 403.
        "api.authentication.TokenAuthentication",  # integrators and scripts: hashed, expiring, per device
        "api.authentication.SessionAuthentication",  # the web app; CSRF on writes
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # JSON only, strict and with a nesting limit (orjson): the API takes no forms or uploads (the
    # web pages have their own views), so other bodies are 415 and the schema says exactly this.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("LABSHARE_API_THROTTLE_ANON", "120/minute"),
        "user": env_str("LABSHARE_API_THROTTLE_USER", "6000/minute"),
    },
    "EXCEPTION_HANDLER": "api.exceptions.handler",
    # orjson: the same JSON as DRF's encoder, written natively (datetimes included).
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.ORJSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "labshare API",
    "DESCRIPTION": "Shared-equipment booking for FabLabs and innovation-center labs / "
    "Đặt lịch thiết bị dùng chung cho FabLab và trung tâm đổi mới sáng tạo",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc assets are served from drf-spectacular-sidecar, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_refusals",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ResourceStatusEnum": "labs.models.Resource.Status",
        "ResourceKindEnum": "labs.models.Resource.Kind",
        "OrganizationKindEnum": "labs.models.Organization.Kind",
        "BookingStatusEnum": "bookings.models.BookingStatus",
        "WaitlistStatusEnum": "bookings.models.WaitlistEntry.Status",
        "WebhookSubscriptionStatusEnum": "webhooks.models.Subscription.Status",
        "WebhookDeliveryStatusEnum": "webhooks.models.Delivery.Status",
        "AccountRequestStatusEnum": "accounts.models.RequestStatus",
        "StatementStatusEnum": "billing.models.StatementStatus",
        "StatementLineKindEnum": "billing.models.LineKind",
        "BankNotificationStatusEnum": "billing.models.BankNotification.Status",
        "LateChargeDecisionEnum": "billing.models.LateCharge.Decision",
        "AccessDecisionEnum": ["allow", "deny"],
        "DeviceKindEnum": "devices.models.Device.Kind",
        "BadgeKindEnum": "devices.models.Badge.Kind",
    },
}

# django-scheduler's calendars (its admin and rule engine) start weeks on Monday, as Vietnam does.
FIRST_DAY_OF_WEEK = 1

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- API tokens (api/models.py ApiToken; knox's hashing) ---------------------------------------
KNOX_TOKEN_MODEL = "api.ApiToken"
# knox's own migrations would create its (swapped-out) token table too: only ours exists.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("LABSHARE_API_TOKEN_TTL_DAYS", 30, minimum=1)),
    "AUTH_HEADER_PREFIX": "Token",
}
# How long a process may remember a token it has checked: a revoked or expired token still opens
# that process for at most this long. 0 turns the memory off.
LABSHARE_TOKEN_CACHE_SECONDS = env_int("LABSHARE_TOKEN_CACHE_SECONDS", 5, minimum=0)

# --- Security (production defaults; a plain-HTTP machine says so with LABSHARE_PLAIN_HTTP=1) ----
# Behind the TLS front (Caddy in docker-compose.yml) every default is the production one. `make
# test`, `make lint` and the local database commands serve plain HTTP on 127.0.0.1 and set
# LABSHARE_PLAIN_HTTP=1; DEBUG=1 (make run) implies it.
_https = not (DEBUG or env_bool("LABSHARE_PLAIN_HTTP", False))
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _https)
# Preloading asks browsers to use HTTPS for the domain and its subdomains for good: turn it off
# (SECURE_HSTS_PRELOAD=0) on a domain some of whose hosts still serve plain HTTP.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _https)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _https)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _https)
# The header the TLS front sets to say the client used HTTPS. Trust it only when every request
# comes through that front (the compose file publishes no other port); empty: trust none.
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if _https else "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_header.strip().upper().replace("-", "_"), "https") if _proxy_header.strip() else None
)
# The health check and the metrics are asked over plain HTTP inside the network, by the container
# engine and by Prometheus: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles only from our own static files; no
# inline script anywhere. Inline style *attributes* stay allowed (style-src-attr): the timelines
# place each booking with a computed left/width, and a style attribute cannot run code.
# Swagger UI and ReDoc get their own, looser policy (api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],  # includes the same-origin WebSocket (CSP Level 3)
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logs, metrics, error reporting --------------------------------------------------------------
# JSON lines (time, level, logger, message, request id) for the log collector; LOG_FORMAT=text for
# people reading a terminal (the default with DEBUG on).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.requestid.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "procrastinate": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # one INFO line per sign-in otherwise
    },
}
# /metrics answers only with `Authorization: Bearer <token>` when this is set (Caddy does not
# route /metrics from outside either).
LABSHARE_METRICS_TOKEN = env_str("LABSHARE_METRICS_TOKEN") or ""
# /healthz calls the worker late when the oldest due job has waited longer than this.
LABSHARE_HEALTH_MAX_LAG = env_int("LABSHARE_HEALTH_MAX_LAG", 300, minimum=1)

SENTRY_DSN = env_str("SENTRY_DSN") or ""
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=env_int("SENTRY_TRACES_PER_MILLE", 0, minimum=0) / 1000,
        # Names, e-mails and IP addresses stay here: errors are reported without personal data.
        send_default_pii=False,
    )
