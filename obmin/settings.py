"""Django settings for Obmin, read from the environment.

With nothing configured a clone runs: SQLite under OBMIN_DATA_DIR (./data), a file cache beside
it, DEBUG off unless asked. Production sets SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS and usually
REDIS_URL; `obmin check --deploy` says what is missing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

from obmin.lib.env import envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("OBMIN_DATA_DIR", "data")).resolve()

DEBUG = envbool("DEBUG", False)
# The fallback key is for the demo and tests only; `obmin check --deploy` flags it.
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-obmin-demo-key-change-me"
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
# The public address every absolute link is built on (obmin.lib.site.public_url): partners'
# links, e-mails, API answers, docs. `obmin demo --bind` sets it to the bound address.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "django_tasks",
    "django_tasks_db",
    "obmin.ops",
    "obmin.audit",
    "obmin.exchange",
    "obmin.rates",
    "obmin.partners",
    "obmin.rewards",
    "obmin.stats",
    "obmin.monitoring",
    "obmin.partner_api",
    "obmin.postbacks",
    "obmin.twofactor",  # after django_otp's plugins: its admin.py replaces their registrations
    "obmin.passkeys",
    "obmin.cabinet",
]

MIDDLEWARE = [
    # First: a request Django cannot read gets the API's envelope (obmin.partner_api).
    "obmin.partner_api.middleware.ApiEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",  # after whitenoise: static files need no policy
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed the second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "obmin.audit.context.AuditContextMiddleware",  # after auth: names the actor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # The cabinet, the admin and /staff/ are closed to a session that still owes its second
    # factor, or whose user must set one up first (obmin.twofactor.policy).
    "obmin.twofactor.middleware.TwoFactorMiddleware",
    # Notes a Host that differs from SITE_URL's, for `obmin check --deploy`.
    "obmin.lib.site.SeenHostMiddleware",
    # The admin and /staff/ in OPERATOR_TIME_ZONE, as the desk names its times; a NUL in
    # their parameters a 400, never a database error.
    "obmin.ops.middleware.BackOfficeMiddleware",
]

ROOT_URLCONF = "obmin.urls"
WSGI_APPLICATION = "obmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        return dict(dj_database_url.parse(url, conn_max_age=envint("DB_CONN_MAX_AGE", 60)))
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no ./data yet
    # SQLite for the demo and small sites: WAL lets readers run beside the writer, the busy
    # timeout and IMMEDIATE transactions make parallel writers queue instead of failing with
    # "database is locked".
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "obmin.sqlite3",
        # Kept open between requests: a new SQLite connection re-reads the whole schema and
        # runs the PRAGMAs below, which costs more than a click's INSERT.
        "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 60),
        # Tests use a file too (not Django's in-memory default): they run with WAL as the
        # site does, and a test can close the connection and reopen the same database. One
        # per process, so two test runs at once never share one.
        "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"obmin-test-{os.getpid()}.sqlite3")},
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        },
    }


DATABASES = {"default": _database()}
# A PostgreSQL streaming replica for the heavy reads (obmin.lib.replica: the partner API's lists,
# the cabinet's statistics, tables and CSVs); used while it answers and is at most
# DATABASE_REPLICA_MAX_LAG seconds behind, else those reads go to the primary too.
DATABASE_REPLICA_MAX_LAG = envint("DATABASE_REPLICA_MAX_LAG", 5)
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"],
                                conn_max_age=envint("DB_CONN_MAX_AGE", 60)),
        # A replica that is down must cost a request little before the primary answers.
        "OPTIONS": {"connect_timeout": 2},
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["obmin.lib.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down is a cache miss, not an error page; /health/ready reports it.
            "BACKEND": "obmin.lib.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "obmin"),
        }
    }
elif os.environ.get("OBMIN_CACHE") == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Not local memory: `obmin serve` runs several worker processes, and they must all serve
    # the same cached export and share rate-limit counters. A file cache is shared by every
    # process on the host; several hosts need REDIS_URL.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "cabinet:login"
LOGIN_REDIRECT_URL = "cabinet:dashboard"

# Brute-force protection for partner and operator logins (django-axes).
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The lockout counts per real client behind the operator's proxy (obmin.lib.ipmask).
AXES_CLIENT_IP_CALLABLE = "obmin.lib.ipmask.client_address_of"
# django-axes' own text, marked here so it is in Obmin's catalog (axes ships no Ukrainian).
AXES_COOLOFF_MESSAGE = _("Account locked: too many login attempts. Please try again later.")

# Two-factor sign-in (obmin.twofactor, django-otp): TOTP apps and one-time recovery codes; the
# operator's policy (who must have it) is the "Two-factor policy" row in the admin.
# Minutes a second factor stays fresh: older, and changing a payout wallet, the e-mail or the
# password, creating an API key, or turning two-factor off asks for a code again.
TWOFACTOR_FRESH_MINUTES = envint("TWOFACTOR_FRESH_MINUTES", 10)
# Second-factor attempts (the sign-in's second step and the re-check before an action) per user
# and per client address, django-ratelimit rates; over either the page refuses at once.
TWOFACTOR_RATE_PER_USER = os.environ.get("TWOFACTOR_RATE_PER_USER", "10/h")
TWOFACTOR_RATE_PER_IP = os.environ.get("TWOFACTOR_RATE_PER_IP", "30/h")
# Where the middleware closes the doors to a session without its second factor.
TWOFACTOR_PROTECTED_PATHS = ["/cabinet/", "/admin/", "/staff/"]
# The templates the second step and the re-check include, one per way to pass them (each a
# form of its own; obmin/twofactor/NOTES: passkeys add theirs here).
TWOFACTOR_METHOD_TEMPLATES = ["twofactor/method_totp.html"]
# Templates the set-up page includes below the app's, one per other kind of second factor.
TWOFACTOR_SETUP_TEMPLATES: list[str] = []
# URL names (namespace:name) another method's second step needs open before the session is
# verified (its begin/complete endpoints), beside the second-step page itself.
TWOFACTOR_SECOND_STEP_URLS: list[str] = []
# The name an authenticator app shows beside the account (django-otp's otpauth:// issuer).
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Obmin")
# django-otp's throttling: after n wrong codes in a row a device waits 2^(n-1) seconds.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# The secret keys are never shown in django-otp's own admin pages (also unregistered there).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Passkeys (WebAuthn, django-otp-webauthn; obmin.passkeys) as a second factor. The relying party
# is SITE_URL: its host is the id passkeys are bound to, its origin the only one accepted
# (obmin.passkeys.webauthn reads both at each ceremony; the two settings below only answer the
# library's start-up checks). Browsers allow WebAuthn only at a domain name over HTTPS (or
# http://localhost): at the demo's http://127.0.0.1 passkeys are not offered, and its origin
# check (otp_webauthn.E031) is silenced for it. WEBAUTHN_RP_NAME: the name a browser shows
# when it makes or uses a passkey.
OTP_WEBAUTHN_RP_NAME = os.environ.get("WEBAUTHN_RP_NAME", "Obmin")
OTP_WEBAUTHN_RP_ID = urlsplit(SITE_URL).hostname or "localhost"
OTP_WEBAUTHN_ALLOWED_ORIGINS = ["{0.scheme}://{0.netloc}".format(urlsplit(SITE_URL))]
OTP_WEBAUTHN_HELPER_CLASS = "obmin.passkeys.webauthn.SiteWebAuthnHelper"
# The library's own sign-in views are not mounted (the login page's passkey sign-in is
# obmin/cabinet/passkey_sign_in.py); off, it does not demand discoverable credentials, so a
# security key that keeps none may still be added as a second factor.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E031"]
# The passkey is offered first at the second step and the re-check; its endpoints stay open to
# a session that owes its second factor.
TWOFACTOR_METHOD_TEMPLATES = ["passkeys/method_passkey.html", *TWOFACTOR_METHOD_TEMPLATES]
TWOFACTOR_SECOND_STEP_URLS = [*TWOFACTOR_SECOND_STEP_URLS, "passkeys:use_begin",
                              "passkeys:use_complete"]
# URL names open to a user the policy requires to set up a second factor (beside twofactor's own
# set-up pages): a passkey may be the first one.
TWOFACTOR_SET_UP_URLS = ["passkeys:add_begin", "passkeys:add_complete"]
# The two-factor page lists the user's passkeys and adds one below the app's part.
TWOFACTOR_SETUP_TEMPLATES = [*TWOFACTOR_SETUP_TEMPLATES, "passkeys/setup_section.html"]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("uk", "Українська")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = "obmin.locale"  # uk: amounts keep the decimal point (locale/uk/formats.py)
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the site-wide stylesheet; apps keep their own
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# E-mail (contract §7), sent by `obmin worker` (obmin.lib.mail). The default prints messages
# to the worker's output, links' tokens masked unless DEBUG; `obmin check --deploy` warns while
# production keeps a console backend.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "obmin.lib.mail.ConsoleBackend")
# Django's file-based backend writes each message into this directory (tests, trials).
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH") or None
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)  # STARTTLS, usually on port 587
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)  # TLS from the start, usually on port 465
# Seconds an SMTP connection or reply may take before the send fails (and is retried).
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Obmin <noreply@obmin.local>")
# Where Django's error reports to ADMINS come from.
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# Tries of one e-mail before it is marked failed; retries wait 1, 4, 16 minutes, ... (max 4 h).
EMAIL_SEND_ATTEMPTS = envint("EMAIL_SEND_ATTEMPTS", 6)
# Who is told when a customer presses "I have paid" (comma-separated); empty: nobody.
OPERATOR_EMAIL = os.environ.get("OPERATOR_EMAIL", "")
# The operator's desk shows times in this zone, named beside them (an IANA name).
OPERATOR_TIME_ZONE = os.environ.get("OPERATOR_TIME_ZONE", "UTC")
# Also told to this URL (optional): a JSON POST signed as postbacks are, with the secret below.
OPERATOR_WEBHOOK_URL = os.environ.get("OPERATOR_WEBHOOK_URL", "")
OPERATOR_WEBHOOK_SECRET = os.environ.get("OPERATOR_WEBHOOK_SECRET", "")
# The operator is alerted when an exchange waits (paid or received) longer than this; 0: never.
OPERATOR_ALERT_WAIT_MINUTES = envint("OPERATOR_ALERT_WAIT_MINUTES", 30)

# Every cookie of ours is HttpOnly and SameSite=Lax; SECURE_COOKIES=1 (HTTPS) makes them Secure.
# Pages' scripts never read a cookie: forms carry the CSRF token themselves.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Sign-up and password reset (django-ratelimit rates), counted before the form is read: asks per
# client address, and e-mails to one address (nobody can flood someone's inbox through us).
ACCOUNT_RATE_PER_IP = os.environ.get("ACCOUNT_RATE_PER_IP", "10/h")
ACCOUNT_RATE_PER_EMAIL = os.environ.get("ACCOUNT_RATE_PER_EMAIL", "3/h")
# Content-Security-Policy (django-csp) on every page: scripts only from this site's static files
# or inline with the page's nonce (`nonce="{{ request.csp_nonce }}"`), so no inline event handler
# or javascript: URL runs; no plugins, no <base>, no framing of our pages, forms post only here.
# Styles may be inline (style attributes and <style> run no script). CSP_REPORT_ONLY=1 sends the
# same policy as Content-Security-Policy-Report-Only (browsers report, block nothing): for trying
# a change on a live site. CSP_REPORT_URI: where browsers send their reports (unset: nowhere).
CSP_REPORT_ONLY = envbool("CSP_REPORT_ONLY", False)
CSP_REPORT_URI = os.environ.get("CSP_REPORT_URI", "")
_CSP_POLICY: dict[str, Any] = {"DIRECTIVES": {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "script-src-attr": [NONE],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [NONE],
    "frame-ancestors": [NONE],
    "form-action": [SELF],
    "report-uri": CSP_REPORT_URI or None,
}}
CONTENT_SECURITY_POLICY = None if CSP_REPORT_ONLY else _CSP_POLICY
CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP_POLICY if CSP_REPORT_ONLY else None
# HTTPS in production (`obmin check --deploy` asks for these). SECURE_SSL_REDIRECT=1 sends
# http:// to https:// (the health probes and /metrics stay reachable over plain HTTP for a load
# balancer); SECURE_HSTS_SECONDS tells browsers to come back only over HTTPS for that long (start
# small: a mistake keeps visitors out until it runs out), for subdomains too and, with
# SECURE_HSTS_PRELOAD=1, consenting to browsers' preload lists.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Behind a proxy of ours (deploy/nginx): X-Forwarded-Proto is believed, and a click's id and
# time come from the proxy's X-Request-ID and X-Request-Start (one row however often it retries).
BEHIND_PROXY = envbool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# Peers whose X-Forwarded-For is believed (when the referral settings trust the header): the
# operator's proxies. The client is the right-most address of the header not in these.
TRUSTED_PROXIES = envlist("TRUSTED_PROXIES", [
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"])

RATELIMIT_USE_CACHE = "default"
# Every limit's `ip` key is the one client address (obmin.lib.ipmask), never the proxy's.
RATELIMIT_IP_META_KEY = "obmin.lib.ipmask.client_address_of"

# Background work (e-mails, click ingestion, poll flushes...) through Django's task framework
# (`django-tasks`, the backport of Django 6's django.tasks). Tasks are rows in the database,
# run by `obmin worker`; TASKS_BACKEND=immediate runs them inside the request instead.
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if os.environ.get("TASKS_BACKEND") == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

# Partner API (obmin/partner_api): requests per key, and failed key attempts per client address.
PARTNER_API_ENABLED = envbool("PARTNER_API_ENABLED", True)
PARTNER_API_RATE = os.environ.get("PARTNER_API_RATE", "60/m")
# API v1's exchange methods per key (create_bid aside): one bot key serves all its customers.
PARTNER_API_EXCHANGE_RATE = os.environ.get("PARTNER_API_EXCHANGE_RATE", "600/m")
PARTNER_API_BAD_KEY_RATE = os.environ.get("PARTNER_API_BAD_KEY_RATE", "20/m")
# API v1 create_bid per key and hour unless the operator set the key's own (a bot serves many).
PARTNER_API_BIDS_PER_HOUR = int(os.environ.get("PARTNER_API_BIDS_PER_HOUR", "1000"))
# Attempts to POST a bid's status change to its callback_url before giving up.
PARTNER_API_CALLBACK_ATTEMPTS = int(os.environ.get("PARTNER_API_CALLBACK_ATTEMPTS", "6"))

# Monitoring export (obmin/monitoring), seconds. Each process reads the shared export's version
# token at most this often (a change made elsewhere shows within it; 0: on every poll).
MONITORING_EXPORT_RECHECK_SECONDS = float(
    os.environ.get("MONITORING_EXPORT_RECHECK_SECONDS", "").strip() or "0.1")
# Each process pushes its in-memory poll counts to the shared cache this often.
MONITORING_POLL_PUSH_SECONDS = envint("MONITORING_POLL_PUSH_SECONDS", 5)
# The cache's poll counts are copied into the database this often (by whichever process polls).
MONITORING_POLL_FLUSH_SECONDS = envint("MONITORING_POLL_FLUSH_SECONDS", 60)

# `obmin worker` (obmin.ops.worker). Queued clicks are written this often, seconds: a round a
# quarter second apart writes a quarter of a second's clicks, so the worker's CPU comes in
# short slices beside the app servers on the same cores instead of one long one a second
# (bench/RESULTS.md, issue 31). WORKER_NICE: the worker lowers its own CPU priority by this
# much (0 to 19) when it starts: request threads come first, the worker takes what is left
# and catches up when the load drops (clicks wait in the stream, none is lost).
CLICK_INGEST_SECONDS = float(os.environ.get("CLICK_INGEST_SECONDS", "").strip() or "0.25")
WORKER_NICE = envint("WORKER_NICE", 10)

# Postbacks and callback URLs (obmin.lib.netguard): addresses resolving to loopback, private,
# link-local or reserved networks are refused unless this is on (tests, private networks).
POSTBACK_ALLOW_PRIVATE = envbool("POSTBACK_ALLOW_PRIVATE", False)
# Pending deliveries one partner may have; events beyond are logged as failed, not queued.
POSTBACK_MAX_PENDING = envint("POSTBACK_MAX_PENDING", 5000)
# Postback saves and test events per partner (each resolves or calls a partner-given host).
POSTBACK_SAVE_RATE = os.environ.get("POSTBACK_SAVE_RATE", "20/h")

# Country of a click's address (obmin.lib.geo): an optional MaxMind DB file (GeoIP2 or
# GeoLite2 Country or City) asked first; empty: the data built into the iptocc package only.
GEOIP_DB = os.environ.get("GEOIP_DB", "")

# The customer's exchange form (and the API's create_bid): new exchanges allowed per client
# address and per visitor (obmin_vid cookie); django-ratelimit rates, such as "20/h".
EXCHANGE_RATE_PER_IP = os.environ.get("EXCHANGE_RATE_PER_IP", "20/h")
EXCHANGE_RATE_PER_VISITOR = os.environ.get("EXCHANGE_RATE_PER_VISITOR", "10/h")
# "Find my exchange" (links sent by e-mail): asks per client address, and e-mails to one address.
EXCHANGE_LOOKUP_RATE_PER_IP = os.environ.get("EXCHANGE_LOOKUP_RATE_PER_IP", "10/h")
EXCHANGE_LOOKUP_RATE_PER_EMAIL = os.environ.get("EXCHANGE_LOOKUP_RATE_PER_EMAIL", "3/h")

# GET /metrics (Prometheus): with a token, only requests bearing it; without, no one unless
# METRICS_PUBLIC opens it to anyone who reaches it (loopback is no proof: a proxy on this host).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_PUBLIC = envbool("METRICS_PUBLIC", False)

# Logs go to the console, secrets scrubbed from every line (obmin.lib.logscrub). LOG_FORMAT=json
# writes JSON lines for a log collector. ACCESS_LOG: one line per request from the WSGI
# application (`obmin serve`; obmin.lib.accesslog), on by default.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
ACCESS_LOG = envbool("ACCESS_LOG", True)
_formatter = "json" if LOG_FORMAT == "json" else "text"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_secrets": {"()": "obmin.lib.logscrub.ScrubSecretsFilter"},
                "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
                "without_traceback": {"()": "obmin.lib.logscrub.WithoutTraceback"}},
    "formatters": {
        "text": {"format": "%(message)s"},
        "access_text": {"()": "obmin.lib.logformat.SecondsCachedFormatter",
                        "format": "%(asctime)s %(message)s"},
        "json": {"()": "obmin.lib.logformat.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["scrub_secrets"],
                    "formatter": _formatter},
        "access": {"class": "obmin.lib.accesslog.AccessLineHandler", "stream": "ext://sys.stdout",
                   "filters": ["scrub_secrets"],
                   "formatter": "json" if LOG_FORMAT == "json" else "access_text"},
        # Refused requests (a bad Host, an unreadable body): one line each, no traceback.
        "security": {"class": "logging.StreamHandler",
                     "filters": ["scrub_secrets", "without_traceback"],
                     "formatter": _formatter},
        "mail_admins": {"level": "ERROR", "filters": ["require_debug_false"],
                        "class": "django.utils.log.AdminEmailHandler"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "obmin.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        # Django's loggers print through the scrubbed console above (propagating to the root),
        # not Django's own unfiltered DEBUG console; errors still mail ADMINS (scrubbed report).
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.security": {"handlers": ["security"], "level": "WARNING", "propagate": False},
        # The development server's request lines: the access log above has them already, so
        # only its warnings and errors, and scrubbed like everything else.
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
# Error reports (500 e-mails to ADMINS, the DEBUG page) with secrets hidden (obmin.lib.logscrub).
DEFAULT_EXCEPTION_REPORTER = "obmin.lib.logscrub.SecretsExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "obmin.lib.logscrub.SecretsExceptionReporterFilter"
