"""Firebreak settings: one file, read from environment variables with embedded defaults.

With no variable set, Firebreak runs on SQLite under var/, Celery on kombu's filesystem://
broker, and writes e-mail to files under var/mail/. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis. Every variable is listed in README.md and .env.example.
"""

import os
import secrets
import tempfile
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FIREBREAK_VAR_DIR", str(BASE_DIR / "var")))
CELERY_QUEUE = env_str("CELERY_QUEUE", "firebreak")
if os.environ.get("PYTEST_VERSION") and not os.environ.get("FIREBREAK_VAR_DIR"):
    # A test run never touches the developer's var/ nor a queue shared on Redis: each
    # test process (and the Celery workers it starts, which inherit these variables)
    # gets a folder and a queue of its own.
    _run = Path(os.environ.setdefault("FIREBREAK_TEST_RUN", tempfile.mkdtemp(prefix="firebreak-test-")))
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    VAR_DIR = _run / _worker
    CELERY_QUEUE = f"{_run.name}-{_worker}"
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    if key := env_str("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "template_partials",
    "django_filters",
    "guardian",
    "simple_history",
    "django_celery_beat",
    "axes",
    "phonenumber_field",
    "accounts",
    "incidents",
    "notifications.apps.NotificationsConfig",
    "analytics",
    "alerts",
    "oncall",
    "intake",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "incidents.context_processors.desk",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
_env = environ.Env()
DATABASES = {"default": _env.db_url_config(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'firebreak.sqlite3'}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat read while one of them writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file too, not shared-cache memory, so concurrent writers behave as in
    # production; one per process, so no stale WAL file of an earlier run is ever reused.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"firebreak-test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The desk's queries are short: JIT compiling a plan costs more (~25 ms) than it saves.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", False)  # else accounts come from an administrator or an invitation
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:current"
LOGOUT_REDIRECT_URL = "login"
ANONYMOUS_USER_NAME = None  # guardian: no "AnonymousUser" row in the user lists

AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = 1  # hour
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

# Internationalisation: English and French from the start; each user picks one.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"  # attachments; served only through the desk's checks, never directly
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_MAX_COUNT = env_int("ATTACHMENT_MAX_COUNT", 10)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # form fields; files stream to disk past FILE_UPLOAD_MAX_MEMORY_SIZE

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: files under var/mail/ unless EMAIL_URL names an SMTP server.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Firebreak <firebreak@localhost>")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
PHONENUMBER_DEFAULT_REGION = env_str("PHONE_REGION", "FR")  # numbers typed without +country
if email_url := env_str("EMAIL_URL"):
    vars().update(_env.email_url_config(email_url))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# Cache and Celery: Redis when REDIS_URL is set, else the embedded defaults.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
else:
    # Files under var/: shared by the web processes and the workers of one machine, so the
    # API's and the alerts' rate limits count in one place (a LocMemCache counts per process).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    }
    _broker = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),  # remote control (ping); default is the CWD
        "store_processed": False,
        "polling_interval": 0.1,
    }
# Sending tasks survive a lost worker (acks_late + reject_on_worker_lost, prefetch 1); a
# publish never blocks a request for long when the broker is down: the outbox sweep
# sends what could not be queued. notifications.checks verifies this at start-up.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Notifications: the outbox, its retries and the SMS backend.
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 8)
NOTIFICATIONS_RETRY_BASE = env_int("NOTIFICATIONS_RETRY_BASE", 30)  # seconds, doubled per attempt, max 1 h
NOTIFICATIONS_STUCK_AFTER = env_int("NOTIFICATIONS_STUCK_AFTER", 120)  # a SENDING row older is re-sent
NOTIFICATIONS_REQUEUE_AFTER = env_int("NOTIFICATIONS_REQUEUE_AFTER", 60)  # a queued row not taken is re-queued
NOTIFICATIONS_SWEEP_EVERY = env_int("NOTIFICATIONS_SWEEP_EVERY", 15)  # seconds
CELERY_BEAT_SCHEDULE = {
    "notifications-sweep": {"task": "notifications.sweep", "schedule": float(NOTIFICATIONS_SWEEP_EVERY)},
    "alerts-sweep": {"task": "alerts.sweep", "schedule": 30.0},  # alerts a lost task left unprocessed
    "oncall-escalate": {"task": "oncall.escalate", "schedule": 30.0, "options": {"expires": 25}},  # next levels
    "intake-poll": {"task": "intake.poll", "schedule": 60.0, "options": {"expires": 55}},  # IMAP mailboxes
}
SMS_BACKEND = env_str("SMS_BACKEND", "notifications.sms.FileBackend")
SMS_FILE_PATH = VAR_DIR / "sms"
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "https://api.twilio.com")
SMS_ACCOUNT_SID = env_str("SMS_ACCOUNT_SID")
SMS_AUTH_TOKEN = env_str("SMS_AUTH_TOKEN")
SMS_FROM = env_str("SMS_FROM")

# Security. SECURE_SSL=true behind HTTPS turns on what `check --deploy` asks for.
SECURE_SSL = env_bool("SECURE_SSL", False)
SECURE_SSL_REDIRECT = SECURE_SSL
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_SSL else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Lists: rows per page (keyset pagination, never OFFSET).
FIREBREAK_PAGE_SIZE = env_int("FIREBREAK_PAGE_SIZE", 25)
FIREBREAK_TIMELINE_PAGE_SIZE = env_int("FIREBREAK_TIMELINE_PAGE_SIZE", 100)

# REST API under /api/v1/ (api/): knox tokens (hashed, no expiry, revoked by their owner on
# /api/tokens/) or the session; JSON in and out; requests counted per token in the cache
# above (429 with Retry-After past the limit). Rates are "<count>/<second|minute|hour|day>".
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "120/minute")  # per token (per user on the session)
API_ANON_RATE_LIMIT = env_str("API_ANON_RATE_LIMIT", "30/minute")  # the schema and its page, per address
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",  # first: its "Token" challenge makes missing credentials a 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.handle",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Token", "TOKEN_LIMIT_PER_USER": 20}
KNOX_TOKEN_MODEL = "knox.AuthToken"  # noqa: S105 (a model, knox's own: named so migrations can refer to it)
SPECTACULAR_SETTINGS = {
    "TITLE": "Firebreak API",
    "DESCRIPTION": "Tickets of the Firebreak desk. Authenticate with `Authorization: Token <token>` "
    "(tokens are made on /api/tokens/) or, in the browser, with your session.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from static files: no CDN on closed networks
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"StatusEnum": "incidents.models.Status"},  # status, from_status, to_status
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.document_errors"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
