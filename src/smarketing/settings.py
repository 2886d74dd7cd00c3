"""Project settings, read from the environment (see `.env.example`)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from smarketing.env import get_from_env

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(get_from_env("SMARKETING_DATA_DIR", str(Path.cwd() / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = get_from_env("DEBUG", False)
# `embedded`: one machine, SQLite by default, a secret key generated into the data folder.
# `production`: refuses to start with DEBUG on or without an explicit SECRET_KEY.
ENVIRONMENT = get_from_env("SMARKETING_ENV", "embedded")
if ENVIRONMENT not in ("embedded", "production"):
    raise ImproperlyConfigured("SMARKETING_ENV must be 'embedded' or 'production'.")


def _load_or_create_secret_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


SECRET_KEY = os.environ.get("SECRET_KEY") or _load_or_create_secret_key(DATA_DIR / "secret_key")
if ENVIRONMENT == "production":
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when SMARKETING_ENV=production.")
    if not os.environ.get("SECRET_KEY") or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "Set SECRET_KEY (at least 32 characters) when SMARKETING_ENV=production."
        )
TESTING = "pytest" in sys.modules or get_from_env("SMARKETING_TESTING", False)

ALLOWED_HOSTS = get_from_env("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = get_from_env("CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = get_from_env("TIME_ZONE", "UTC")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "huey.contrib.djhuey",
    "smarketing.core",
    "smarketing.crm",
    "smarketing.definitions",
    "smarketing.scoring",
    "smarketing.handoff",
    "smarketing.sla",
    "smarketing.integrations",
    "smarketing.analytics",
    "smarketing.api",
    "smarketing.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "smarketing.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "smarketing.urls"
WSGI_APPLICATION = "smarketing.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smarketing.core.context_processors.roles",
            ],
        },
    }
]

DATABASE_URL = get_from_env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'smarketing.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Connections are kept between requests (CONN_MAX_AGE above): opening one costs about
    # a millisecond, and closing the last one checkpoints and deletes the WAL file.
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock at
        # the start of a transaction so concurrent writers queue instead of failing mid-way.
        # A 64 MB page cache and memory-mapped reads keep the indexes of large tables in memory.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
            " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from the finders; collectstatic is optional
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = get_from_env("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Background work: huey with SQLite storage by default, Redis in production.
HUEY_URL = get_from_env("HUEY_URL", "")
if HUEY_URL.startswith("redis"):
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "smarketing",
        "url": HUEY_URL,
        "immediate": TESTING,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "smarketing",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": TESTING,
    }

# Ingestion limits.
SMARKETING_MAX_BATCH = get_from_env("SMARKETING_MAX_BATCH", 1000)
# Score contacts as touches and profile changes are written (off only to measure its cost).
SMARKETING_SCORE_ON_WRITE = get_from_env("SMARKETING_SCORE_ON_WRITE", True)
# Where people reach the app: links in notifications (Slack, Trello, Asana, webhooks) point here.
# The attribution model the dashboard shows (first, last, linear, u_shaped, w_shaped, full_path,
# time_decay, j_shaped, inverse_j, markov, shapley).
SMARKETING_ATTRIBUTION_MODEL = get_from_env("SMARKETING_ATTRIBUTION_MODEL", "linear")
SMARKETING_BASE_URL = get_from_env("SMARKETING_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Tries before an outbound notification goes to the dead letters (docs/notifications.md).
SMARKETING_OUTBOX_MAX_ATTEMPTS = get_from_env("SMARKETING_OUTBOX_MAX_ATTEMPTS", 6)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": get_from_env("LOG_LEVEL", "WARNING")},
}
