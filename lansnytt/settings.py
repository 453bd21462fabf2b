"""Settings for lansnytt, read from the environment.

Unset variables fall back to the embedded default (SQLite under var/, tasks in-process,
email written to var/outbox/) so a fresh machine can run the demo. With DEBUG off the
fallbacks are refused by the apps' system checks (see lansnytt/checks.py) instead of being
used silently.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Kept as strings so checks.py can tell "unset" from "set": the fallbacks below are only
# acceptable while DEBUG is on.
SECRET_KEY_FROM_ENV = env("SECRET_KEY", default="")
REDIS_URL = env("REDIS_URL", default="")
EMAIL_URL = env("EMAIL_URL", default="")

SECRET_KEY = SECRET_KEY_FROM_ENV or "django-insecure-lansnytt-embedded-default-only-for-debug"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
# Every link in every email is built from it; checks.py refuses the default in production.
SITE_URL_FROM_ENV = env("SITE_URL", default="")
SITE_URL = (SITE_URL_FROM_ENV or "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "csp",
    "django_ratelimit",
    "accounts",
    "subscribers",
    "newsletter",
    "printing",
    "worker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lansnytt.middleware.PersonalPagesNotStored",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "lansnytt.urls"
WSGI_APPLICATION = "lansnytt.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'lansnytt.sqlite3'}"),
}
# The test database name can be set so that several checkouts can run their suites side
# by side against the same PostgreSQL server.
if env("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="lansnytt"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-ratelimit counts in the default cache. Django's own RedisCache increments atomically
# (INCR) but is missing from the library's list of supported backends, hence W001. LocMem is
# per process, so limits would not hold across gunicorn workers: acceptable only for the
# embedded default (DEBUG without Redis); production without REDIS_URL is refused anyway by
# worker.checks.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if DEBUG and not REDIS_URL:
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")
# Behind a reverse proxy set this to e.g. HTTP_X_REAL_IP so limits apply per client, not per
# proxy.
if env("RATELIMIT_IP_META_KEY", default=""):
    RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY")

# Swedish first; English is the translation.
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Email -------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Länsnytt <lansnytt@example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_OUTBOX_DIR = VAR_DIR / "outbox"
if EMAIL_URL:
    # django-environ understands smtp://, smtp+tls://, smtp+ssl:// and others.
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "lansnytt.mail.EmlFileBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Celery ------------------------------------------------------------------------------
# Without REDIS_URL tasks run in-process (eager), so the embedded default needs no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE

# --- Sending (worker/) --------------------------------------------------------------------
# Rows claimed per batch task; one SMTP connection is reused for the whole batch.
SEND_BATCH_SIZE = env.int("SEND_BATCH_SIZE", default=500)
# How often (in messages) a running batch looks at its dispatch's status, so that a pause or
# cancel takes effect within the batch.
SEND_STATUS_CHECK_EVERY = env.int("SEND_STATUS_CHECK_EVERY", default=50)
# How long a batch that could not reach the mail server waits before the next one tries.
SEND_TRANSPORT_RETRY_SECONDS = env.float("SEND_TRANSPORT_RETRY_SECONDS", default=30)
# How many batch tasks of one dispatch may be queued at once (each re-enqueues itself).
SEND_PARALLEL_BATCHES = env.int("SEND_PARALLEL_BATCHES", default=8)
# Messages per minute across all workers (kept in Redis); 0 means unlimited.
SEND_RATE_PER_MINUTE = env.int("SEND_RATE_PER_MINUTE", default=0)
# A claimed row that is not recorded within this time is taken back by the sweeper.
DELIVERY_CLAIM_SECONDS = env.int("DELIVERY_CLAIM_SECONDS", default=600)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
# Transient failures wait base, 2×base, 4×base ... seconds before the next attempt.
DELIVERY_RETRY_BASE_SECONDS = env.int("DELIVERY_RETRY_BASE_SECONDS", default=60)
# A scheduled dispatch this long overdue waits for an editor instead of starting by itself.
DISPATCH_SCHEDULE_DEADLINE_HOURS = env.int("DISPATCH_SCHEDULE_DEADLINE_HOURS", default=24)
# Auto-pause when more than this share of the latest outcomes (at least the minimum) failed.
DISPATCH_FAILURE_WINDOW = env.int("DISPATCH_FAILURE_WINDOW", default=50)
DISPATCH_FAILURE_WINDOW_MIN = env.int("DISPATCH_FAILURE_WINDOW_MIN", default=20)
DISPATCH_FAILURE_RATIO = env.float("DISPATCH_FAILURE_RATIO", default=0.5)
# How often celery beat runs the sweeper and starts due scheduled dispatches.
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "deliveries-sweep": {
        "task": "worker.tasks.deliveries_sweep_task",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "dispatches-due": {
        "task": "worker.tasks.dispatches_due_task",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
}
# Optional address for mailto: unsubscribe requests in List-Unsubscribe; empty means none.
LIST_UNSUBSCRIBE_MAILTO = env("LIST_UNSUBSCRIBE_MAILTO", default="")
# DKIM signing is on when all three are set.
DKIM_PRIVATE_KEY_PATH = env("DKIM_PRIVATE_KEY_PATH", default="")
DKIM_SELECTOR = env("DKIM_SELECTOR", default="")
DKIM_DOMAIN = env("DKIM_DOMAIN", default="")

# --- Security (production) ---------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

# --- Content-Security-Policy (django-csp) ----------------------------------------------------
# Scripts only from our origin (or an inline one carrying the request's nonce), no plugins, no
# framing, no <base> tricks. Uploaded images and the links in forms point at SITE_URL, which
# may be another host than the one serving the admin (localhost against 127.0.0.1).
_SITE = urlsplit(SITE_URL)
SITE_ORIGIN = f"{_SITE.scheme}://{_SITE.netloc}"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, SITE_ORIGIN, "data:"],
        "form-action": [SELF, SITE_ORIGIN],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
    },
}

# The paths whose next segment is a subscriber's signed token (subscribers/urls.py). Every log
# line that can print a path masks them (lansnytt/log_masking.py);
# tests/project/test_log_masking.py fails when a token URL is missing here.
SIGNED_LINK_PATHS = ["/prenumeration/", "/avregistrera/", "/prenumerera/bekrafta/"]
_TOKENS_MASKED = ["signed_tokens_masked"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "signed_tokens_masked": {
            "()": "lansnytt.log_masking.SignedTokenFilter",
            "token_paths": SIGNED_LINK_PATHS,
        },
    },
    "formatters": {
        # Django's own format for runserver's access lines (DEFAULT_LOGGING).
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    # On the handlers as well, for any other logger that quotes a URL (an app's own, Celery's).
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": _TOKENS_MASKED},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": _TOKENS_MASKED,
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    # A filter on a logger applies to the records logged on that very logger, so each one
    # that prints a path is named (gunicorn's are given it in wsgi.py).
    "loggers": {
        "django.request": {"filters": _TOKENS_MASKED},
        "django.security.csrf": {"filters": _TOKENS_MASKED},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": _TOKENS_MASKED,
        },
    },
}

# --- Subscriber self-service --------------------------------------------------------------
# Public subscribe form: POSTs per client IP ("count/period", e.g. 5/10m = 5 per 10 minutes).
SUBSCRIBE_RATE_LIMIT = env("SUBSCRIBE_RATE_LIMIT", default="5/10m")
# Raise when the privacy text (templates/subscribers/privacy.html) changes in substance; each
# consent event records the version the person was shown.
PRIVACY_TEXT_VERSION = "2026-11-25"
# Shown on the privacy page and the accessibility statement as where to write.
CONTACT_EMAIL = env("CONTACT_EMAIL", default="lansnytt@example.org")

# --- Publisher ---------------------------------------------------------------------------
PUBLISHER_NAME = "Regionbibliotek Stockholm"
PUBLISHER_ADDRESS = env(
    "PUBLISHER_ADDRESS", default="Regionbibliotek Stockholm, Box 12345, 102 31 Stockholm"
)
