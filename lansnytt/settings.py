"""Settings for lansnytt, read from the environment.

Unset variables fall back to the embedded default (SQLite under var/, tasks in-process,
email written to var/outbox/) so a fresh machine can run the demo. With DEBUG off the
fallbacks are refused by the apps' system checks (see lansnytt/checks.py) instead of being
used silently.
"""

from datetime import timedelta
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

SECRET_KEY_DEVELOPMENT_DEFAULT = "django-insecure-lansnytt-embedded-default-only-for-debug"
SECRET_KEY = SECRET_KEY_FROM_ENV or SECRET_KEY_DEVELOPMENT_DEFAULT
# The key of the address hashes kept after erasure (subscribers.validation.email_hash). Its
# own variable, not SECRET_KEY: rotating SECRET_KEY must not make every erased address
# unrecognisable. subscribers.checks refuses the fallback, and a key that is SECRET_KEY or
# its default, when DEBUG is off.
EMAIL_HASH_KEY_FROM_ENV = env("EMAIL_HASH_KEY", default="")
EMAIL_HASH_KEY = EMAIL_HASH_KEY_FROM_ENV or "lansnytt-email-hash-embedded-default-only-for-debug"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
# Every link in every email is built from it; checks.py refuses the default in production.
SITE_URL_FROM_ENV = env("SITE_URL", default="")
SITE_URL = (SITE_URL_FROM_ENV or "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    # The admin site that asks staff for their second factor (accounts/admin_site.py).
    "accounts.admin_site.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "csp",
    "django_ratelimit",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mozilla_django_oidc",
    # Revisions of issues and articles (newsletter/revisions.py).
    "simple_history",
    "accounts",
    "audit",
    "subscribers",
    "newsletter",
    "printing",
    "worker",
    # Provider webhooks for bounces and complaints (worker/webhooks.py).
    "anymail",
    "webhooks",
    "api",
    # django-ninja: the API's browsable page, served from our own static files (no CDN).
    "ninja",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "lansnytt.middleware.PersonalPagesNotStored",
    # After authentication: the signals that record changes of rights ask it who is acting.
    "audit.context.AuditActorMiddleware",
    # After authentication: a revision names the editor who saved it.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication, django-otp and messages, which both use.
    "accounts.sessions.StaffSessionLimitsMiddleware",
    "accounts.twofactor.middleware.StaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its response.
    "axes.middleware.AxesMiddleware",
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
# The sending pipeline prepares its hottest statements on PostgreSQL (worker/connections.py
# prepared_cursor). Off for a connection pooler in transaction mode that cannot carry
# prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
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

# --- Limits on what staff upload (README, "Security: imports and uploads") ----------------
# Subscriber imports: the file's size, its data rows (the header not counted) and columns,
# an XLSX's unpacked parts, and the seconds a Celery worker may spend on one import.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=50_000)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=50)
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=100 * 1024 * 1024)
IMPORT_TIME_LIMIT_SECONDS = env.int("IMPORT_TIME_LIMIT_SECONDS", default=600)
# Article and cover images: bytes, and pixels per side (width and height each).
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=4000)

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
# A worker and beat whose Redis goes away retry (2, 4, 6 … 30 s apart) for as long as it
# takes, instead of exiting after Celery's default 100 tries (about 50 minutes).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A running batch needs no broker (its rows, lease and records are in the database), so a
# Redis restart must not cancel it: a cancelled batch is a batch killed mid-send, whose
# accepted but unrecorded messages would go out again. Celery 6 turns this on by default.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = TIME_ZONE

# --- Sending (worker/) --------------------------------------------------------------------
# Rows claimed per batch task, shared by the batch's SMTP connections.
SEND_BATCH_SIZE = env.int("SEND_BATCH_SIZE", default=500)
# How often (in messages) a running batch looks at its dispatch's status, so that a pause or
# cancel takes effect within the batch.
SEND_STATUS_CHECK_EVERY = env.int("SEND_STATUS_CHECK_EVERY", default=50)
# How long a batch that could not reach the mail server waits before the next one tries.
SEND_TRANSPORT_RETRY_SECONDS = env.float("SEND_TRANSPORT_RETRY_SECONDS", default=30)
# How many batch tasks of one dispatch may be queued at once (each re-enqueues itself).
SEND_PARALLEL_BATCHES = env.int("SEND_PARALLEL_BATCHES", default=8)
# SMTP connections one batch keeps busy at once (asyncio, one thread; worker/conversations.py).
# A relay milliseconds away makes a connection wait far more than it works: to a relay 20 ms
# away one worker process sent about 1.5× as fast with 32 as with 16, and half as fast with 8
# (README, Benchmarks); beyond that the process's CPU is the limit.
SEND_CONNECTIONS = env.int("SEND_CONNECTIONS", default=32)
# Connections to one relay across all workers and batches (counted in Redis). 32 stays under
# Postfix's default per-client limit (smtpd_client_connection_count_limit = 50); Microsoft
# 365's SMTP submission allows 3 per mailbox, so set 3 there. 0 means no limit.
SEND_MAX_CONNECTIONS_PER_RELAY = env.int("SEND_MAX_CONNECTIONS_PER_RELAY", default=32)
# Messages on one connection before it is closed and a new one opened (Exchange's receive
# connectors default to 20 per connection; most relays have no limit). 0 means no limit.
SEND_MESSAGES_PER_CONNECTION = env.int("SEND_MESSAGES_PER_CONNECTION", default=100)
# How long a batch that found every connection slot to the relay taken waits to try again.
SEND_RELAY_BUSY_RETRY_SECONDS = env.float("SEND_RELAY_BUSY_RETRY_SECONDS", default=2)
# Messages per minute across all workers (kept in Redis); 0 means unlimited.
SEND_RATE_PER_MINUTE = env.int("SEND_RATE_PER_MINUTE", default=0)
# A batch's lease on its claimed rows; its heartbeat renews it every third of this. Rows of a
# killed worker are taken back by the sweeper once it lapses (worker/leases.py).
DELIVERY_CLAIM_SECONDS = env.int("DELIVERY_CLAIM_SECONDS", default=30)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
# Transient failures wait base, 2×base, 4×base ... seconds before the next attempt.
DELIVERY_RETRY_BASE_SECONDS = env.int("DELIVERY_RETRY_BASE_SECONDS", default=60)
# A schedule typed this many seconds in the past is still accepted (the time it takes to type
# the command); anything earlier is refused (worker/scheduling.py).
DISPATCH_SCHEDULE_TOLERANCE_SECONDS = env.int("DISPATCH_SCHEDULE_TOLERANCE_SECONDS", default=300)
# A scheduled dispatch this long overdue waits for an editor instead of starting by itself.
DISPATCH_SCHEDULE_DEADLINE_HOURS = env.int("DISPATCH_SCHEDULE_DEADLINE_HOURS", default=24)
# Auto-pause when more than this share of the latest outcomes (at least the minimum) failed.
DISPATCH_FAILURE_WINDOW = env.int("DISPATCH_FAILURE_WINDOW", default=50)
DISPATCH_FAILURE_WINDOW_MIN = env.int("DISPATCH_FAILURE_WINDOW_MIN", default=20)
DISPATCH_FAILURE_RATIO = env.float("DISPATCH_FAILURE_RATIO", default=0.5)
# How often celery beat runs the sweeper and starts due scheduled dispatches.
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=10)
CELERY_BEAT_SCHEDULE = {
    "deliveries-sweep": {
        "task": "worker.tasks.deliveries_sweep_task",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "dispatches-due": {
        "task": "worker.tasks.dispatches_due_task",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    # Cheap when there is nothing to do; hourly keeps no sign-up much beyond its retention.
    "pending-signups-purge": {
        "task": "subscribers.tasks.pending_signups_purge_task",
        "schedule": 3600,
    },
    # Webhook retries whose countdown task was lost (a broker restart) and expired claims.
    "webhook-deliveries-sweep": {
        "task": "webhooks.webhook_deliveries_sweep_task",
        "schedule": 30,
    },
}
# --- Bounces and complaints (worker/bounces/, subscribers/bounce_policy.py) ---------------
# The envelope sender of every delivery becomes bounces+<signed delivery token>@domain (VERP)
# when this is set, e.g. bounces@lansnytt.example.org; empty: the From address, as before.
BOUNCE_ADDRESS = env("BOUNCE_ADDRESS", default="")
# The mailbox the bounces arrive in: imaps://user:pass@host[:port]/INBOX, imap:// (loopback
# tests), pop3s:// or pop3://. Empty: no polling (process_bounces still reads files).
BOUNCE_MAILBOX_URL = env("BOUNCE_MAILBOX_URL", default="")
BOUNCE_MAILBOX_POLL_SECONDS = env.float("BOUNCE_MAILBOX_POLL_SECONDS", default=300)
# IMAP folders: messages acted on go to the first, messages kept for staff (not a bounce, not
# readable, too large) to the second; both are created when missing. Nothing is deleted.
BOUNCE_MAILBOX_PROCESSED_FOLDER = env("BOUNCE_MAILBOX_PROCESSED_FOLDER", default="Processed")
BOUNCE_MAILBOX_KEPT_FOLDER = env("BOUNCE_MAILBOX_KEPT_FOLDER", default="Kept")
# Messages read per poll; the rest wait for the next one (a flood cannot hold the worker).
BOUNCE_MAILBOX_BATCH = env.int("BOUNCE_MAILBOX_BATCH", default=200)
BOUNCE_MAILBOX_TIMEOUT_SECONDS = env.float("BOUNCE_MAILBOX_TIMEOUT_SECONDS", default=30)
# A report larger than this is not parsed; it is kept (its start) for staff.
BOUNCE_MESSAGE_MAX_BYTES = env.int("BOUNCE_MESSAGE_MAX_BYTES", default=1024 * 1024)
# How much of a kept message is stored in the database.
BOUNCE_KEPT_MAX_BYTES = env.int("BOUNCE_KEPT_MAX_BYTES", default=64 * 1024)
# Soft bounces (4.x.x): suppressed after this many separate dispatches with one ...
BOUNCE_SOFT_THRESHOLD = env.int("BOUNCE_SOFT_THRESHOLD", default=3)
# ... within this many days; older soft bounces no longer count.
BOUNCE_SOFT_STALE_DAYS = env.int("BOUNCE_SOFT_STALE_DAYS", default=90)
# The provider EMAIL_URL relays through (mailgun, postmark, sendgrid, sparkpost, mailjet), if
# any: each message then carries the delivery token in that provider's metadata header, and
# its webhooks hand it back (worker/bounces/webhooks.py). Empty: no such header.
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="")
# Provider webhooks (django-anymail) are served under /anymail/ only when this basic-auth
# secret ("user:password") is set; providers that sign their webhooks also need their key.
ANYMAIL_WEBHOOK_SECRET = env("ANYMAIL_WEBHOOK_SECRET", default="")
_ANYMAIL_SIGNING_KEYS = [
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "MANDRILL_WEBHOOK_KEY",
    "POSTAL_WEBHOOK_KEY",
    "MAILERSEND_SIGNING_SECRET",
    "RESEND_SIGNING_SECRET",
]
ANYMAIL = {"WEBHOOK_SECRET": ANYMAIL_WEBHOOK_SECRET} | {
    name: env(name) for name in _ANYMAIL_SIGNING_KEYS if env(name, default="")
}
CELERY_BEAT_SCHEDULE["bounce-mailbox-poll"] = {
    "task": "worker.tasks.bounce_mailbox_poll_task",
    "schedule": BOUNCE_MAILBOX_POLL_SECONDS,
}

# --- Retention (gallring, worker/retention.py) ------------------------------------------
# Delivery rows (address, status, server reply) of dispatches finished this many days ago are
# purged, keeping each dispatch's and issue's totals. A year: the rows answer "did I get it?",
# late bounces and a reader's request for their data; after a year of issues they answer
# nothing a report does not (and no resend of the issue is possible after the purge).
RETENTION_DELIVERY_DAYS = env.int("RETENTION_DELIVERY_DAYS", default=365)
# Kept bounce-mailbox messages (readers' replies, unreadable reports: they quote addresses and
# what people wrote) are deleted after this many days: staff read them within days, and 90 is
# the window soft bounces count in (BOUNCE_SOFT_STALE_DAYS).
RETENTION_BOUNCE_MESSAGE_DAYS = env.int("RETENTION_BOUNCE_MESSAGE_DAYS", default=90)
# Daily click and view counts older than this many days are folded into per-article totals.
# Not personal data (newsletter/engagement.py); two years keeps day-by-day detail for a
# year-on-year comparison, and the totals the reports show never change.
RETENTION_ENGAGEMENT_DAYS = env.int("RETENTION_ENGAGEMENT_DAYS", default=730)
# Rows deleted per transaction: short transactions, no lock held over a whole table.
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=2000)
# Daily is enough for a rule counted in days.
CELERY_BEAT_SCHEDULE["records-purge"] = {
    "task": "worker.tasks.records_purge_task",
    "schedule": 24 * 3600,
}

# Optional address for mailto: unsubscribe requests in List-Unsubscribe; empty means none.
LIST_UNSUBSCRIBE_MAILTO = env("LIST_UNSUBSCRIBE_MAILTO", default="")
# DKIM signing is on when all three are set.
DKIM_PRIVATE_KEY_PATH = env("DKIM_PRIVATE_KEY_PATH", default="")
DKIM_SELECTOR = env("DKIM_SELECTOR", default="")
DKIM_DOMAIN = env("DKIM_DOMAIN", default="")

# --- Outbound HTTP (lansnytt/outbound/) and the external link check ----------------------
# Loopback "host:port" pairs the outbound guard lets through, so the test suite can stand in
# for public servers with its own; refused by a system check when DEBUG is off.
OUTBOUND_ALLOW_TEST_HOSTS = env.list("OUTBOUND_ALLOW_TEST_HOSTS", default=[])
# One link may take this long (HEAD, ranged GET and redirects together) ...
LINK_CHECK_SECONDS_PER_LINK = env.float("LINK_CHECK_SECONDS_PER_LINK", default=5)
# ... and a whole check this long; links not reached by then are reported as not checked.
LINK_CHECK_SECONDS_TOTAL = env.float("LINK_CHECK_SECONDS_TOTAL", default=30)
# At most this much of a page is read (the ranged GET asks for no more).
LINK_CHECK_MAX_BYTES = env.int("LINK_CHECK_MAX_BYTES", default=65536)
# One webhook attempt (connect, send, answer) may take this long; the receiver should answer
# at once and do its work afterwards, as the Standard Webhooks guidance says.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)

# --- The API (api/) --------------------------------------------------------------------
# Requests per token (staff API) and per client address (content API); "<n>/<s|m|h|d>".
API_TOKEN_RATE = env("API_TOKEN_RATE", default="120/m")
API_ANONYMOUS_RATE = env("API_ANONYMOUS_RATE", default="600/m")

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
SIGNED_LINK_PATHS = [
    "/prenumeration/",
    "/avregistrera/",
    "/prenumerera/bekrafta/",
    "/mina-uppgifter/",
    # A counted article link (newsletter/engagement.py): the same for every reader, so not
    # personal, but a signed value all the same, and masked like the others.
    "/lank/",
]
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
    # that prints a path is named (gunicorn's are given it in wsgi.py). Failed logins,
    # lockouts and unlocks are security events: kept at INFO whatever LOG_LEVEL.
    "loggers": {
        "django.request": {"filters": _TOKENS_MASKED},
        "django.security.csrf": {"filters": _TOKENS_MASKED},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": _TOKENS_MASKED,
        },
        "axes": {"level": "INFO"},
        "axes.apps": {"level": "WARNING"},
    },
}

# --- Staff accounts (accounts/; README "Security → Staff accounts") -----------------------
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out username or address is refused before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Single sign-on (accounts/sso/): answers only on its own callback, and only when the
    # OIDC_* variables below configure it; every other login reaches the password backend.
    "accounts.sso.backend.RegionSignOnBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Wrong passwords in a row, per username and, separately, per client address, before the
# login is refused for the cool-off time (even with the right password).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The same client address the sign-up rate limit uses (RATELIMIT_IP_META_KEY behind a proxy).
AXES_CLIENT_IP_CALLABLE = "accounts.client_address.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Keep the raw password out of the attempt log; axes already leaves out "password".
AXES_SENSITIVE_PARAMETERS = ["password"]
# A failed single sign-on is logged by axes too, with the callback's query: its one-time
# code and state are masked like a password.
AXES_SENSITIVE_PARAMETERS += ["code", "state"]
CLIENT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "first_name", "last_name", "email")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {
        "NAME": "accounts.passwords.SwedishPasswordValidator",
        "OPTIONS": {
            "word_lists": [BASE_DIR / "accounts" / "data" / "swedish-common-words.txt"],
            # The places the magazine is about are the first words an attacker tries.
            "place_lists": [
                BASE_DIR / "subscribers" / "data" / "municipalities-stockholm-county.csv",
                BASE_DIR / "subscribers" / "data" / "regions-sweden.csv",
            ],
        },
    },
    {"NAME": "accounts.passwords.PersonalDetailsValidator"},
]

# Every staff account logs in with a second factor (TOTP app or a recovery code) unless this
# is off; it is off by default only while DEBUG is on, so the demo works without a phone.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Länsnytt")
STAFF_RECOVERY_CODES = 10
# Staff sessions end after this long without a request, and this long after logging in.
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
STAFF_SESSION_MAX_HOURS = env.int("STAFF_SESSION_MAX_HOURS", default=8)
SESSION_ENGINE = "django.contrib.sessions.backends.db"
LOGIN_REDIRECT_URL = "admin:index"

# --- Single sign-on with the region's identity provider (accounts/sso/; README "Security →
# Single sign-on") ---------------------------------------------------------------------------
# OpenID Connect through mozilla-django-oidc, off unless OIDC_RP_CLIENT_ID is set; then
# accounts.checks refuses an incomplete configuration and, with DEBUG off, http endpoints.
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
# The issuer the ID tokens must name ("iss"), exactly as the discovery document says it.
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile")
# The claim with the person's groups at the IdP, and which of those groups give which role:
# "idp-group=role,other-group=role" (role: a role group's name or editors, distribution,
# administrators). A person in no mapped group gets no staff access.
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
OIDC_ROLE_MAPPING = env.dict("OIDC_ROLE_MAPPING", default={})
# The IdP's login counts as the second factor (its own MFA, e.g. conditional access): SSO
# sessions are not asked for a TOTP code even with STAFF_REQUIRE_2FA on. Turn it off when the
# IdP does not enforce MFA for this application; local logins always need their code.
OIDC_TRUST_IDP_MFA = env.bool("OIDC_TRUST_IDP_MFA", default=True)
# PKCE on top of the client secret; a provider that does not support it ignores it.
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
# mozilla-django-oidc waits forever by default; a hanging IdP must not hold a web worker.
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10)
# Only a path on this site can be the "next" page after the login (no other hosts).
OIDC_REDIRECT_ALLOWED_HOSTS: list[str] = []
OIDC_CREATE_USER = True
OIDC_STORE_ID_TOKEN = False
OIDC_STORE_ACCESS_TOKEN = False

# --- Subscriber self-service --------------------------------------------------------------
# Public subscribe form: POSTs per client IP ("count/period", e.g. 5/10m = 5 per 10 minutes).
SUBSCRIBE_RATE_LIMIT = env("SUBSCRIBE_RATE_LIMIT", default="5/10m")
# Raise when the privacy text (templates/subscribers/privacy.html) changes in substance; each
# consent event records the version the person was shown.
PRIVACY_TEXT_VERSION = "2026-12-01"
# Sign-ups never confirmed (name, address, IP address, browser) are deleted after this many
# days; at least the 7 days a confirmation link works (checked by subscribers.E001).
PENDING_SIGNUP_RETENTION_DAYS = env.int("PENDING_SIGNUP_RETENTION_DAYS", default=30)
# A welcome email (templates/subscribers/email/welcome*) after a confirmed sign-up, linking
# the latest issue; off for an installation that would rather say nothing more.
WELCOME_EMAIL_ENABLED = env.bool("WELCOME_EMAIL_ENABLED", default=True)
# Requests for a one-time export or erasure link per subscriber ("count/period"): each one
# mails the address, so a forwarded preference link must not become a way to flood it.
PRIVACY_REQUEST_RATE_LIMIT = env("PRIVACY_REQUEST_RATE_LIMIT", default="3/h")
# Shown on the privacy page and the accessibility statement as where to write.
CONTACT_EMAIL = env("CONTACT_EMAIL", default="lansnytt@example.org")

# --- Publisher ---------------------------------------------------------------------------
PUBLISHER_NAME = "Regionbibliotek Stockholm"
PUBLISHER_ADDRESS = env(
    "PUBLISHER_ADDRESS", default="Regionbibliotek Stockholm, Box 12345, 102 31 Stockholm"
)
# The colophon (newsletter.colophon): the periodical's responsible publisher (ansvarig
# utgivare) and its two ISSNs, one for the printed and one for the online edition (the ISSN
# centre at Kungliga biblioteket assigns a separate number to each medium). Unset: not shown.
RESPONSIBLE_PUBLISHER = env("RESPONSIBLE_PUBLISHER", default="")
ISSN_PRINT = env("ISSN_PRINT", default="")
ISSN_ONLINE = env("ISSN_ONLINE", default="")


# A second pair of eyes (newsletter/approval.py): an issue reaches segments only once an editor
# other than the last one who changed it has approved its rendering version. Unset, it follows
# DEBUG at run time (on in production and under the test runner, off for `make demo`).
ISSUE_APPROVAL_REQUIRED = env.bool("ISSUE_APPROVAL_REQUIRED", default=None)
