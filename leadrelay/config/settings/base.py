"""Settings shared by every environment; values come from the environment."""

import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parents[3]
PACKAGE_DIR = BASE_DIR / "leadrelay"
DATA_DIR = Path(os.environ.get("LEADRELAY_DATA_DIR", BASE_DIR / "data"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = env("LEADRELAY_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks_db",
    "ninja",  # serves the API docs page from its bundled static files instead of a CDN
    "leadrelay.core",
    "leadrelay.org",
    "leadrelay.leads",
    "leadrelay.tracking",
    "leadrelay.scoring",
    "leadrelay.desk",
    "leadrelay.handoff",
    "leadrelay.sales",
    "leadrelay.kpi",
    "leadrelay.enablement",
    "leadrelay.recruiting",
    "leadrelay.integrations",
    "leadrelay.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "leadrelay.core.middleware.UserLanguageMiddleware",
    "leadrelay.audit.middleware.RefuseNulCharactersMiddleware",  # PostgreSQL cannot store U+0000
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "leadrelay.core.middleware.ActivateUserLanguageMiddleware",
    "leadrelay.core.middleware.DatabaseUnavailableMiddleware",  # 503 + Retry-After while the database restarts
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "leadrelay.config.urls"
WSGI_APPLICATION = "leadrelay.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadrelay.core.context_processors.navigation",
            ],
        },
    },
]


def database_from_env() -> dict:
    """PostgreSQL when DATABASE_URL is set (postgres://user:pass@host:port/name), SQLite otherwise."""
    url = env("DATABASE_URL")
    if url.startswith(("postgres://", "postgresql://")):
        from urllib.parse import unquote, urlparse

        parsed = urlparse(url)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parsed.path.lstrip("/"),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(env("DATABASE_CONN_MAX_AGE", "60")),
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": env("DATABASE_TEST_NAME") or None},
        }
    path = env("SQLITE_PATH") or str(DATA_DIR / "leadrelay.sqlite3")
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # Keep connections: opening one per request costs more than most requests, and when the last
        # connection closes SQLite checkpoints and removes the WAL, which the next request recreates.
        "CONN_MAX_AGE": int(env("DATABASE_CONN_MAX_AGE", "60")),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA foreign_keys=ON;"
                # Large tables (a million leads, ten million events) are read from memory, not re-read
                # from disk per connection: a per-connection page cache, and the file mapped once for all.
                f"PRAGMA cache_size=-{int(env('SQLITE_CACHE_MB', '64')) * 1024};"
                f"PRAGMA mmap_size={int(env('SQLITE_MMAP_MB', '1024')) * 1024 * 1024};"
                "PRAGMA temp_store=MEMORY;"
            ),
        },
    }


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"
# Holders of the admin role have every permission in the Django admin site.
AUTHENTICATION_BACKENDS = ["leadrelay.org.backends.RoleBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "org:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "org:login"

LANGUAGE_CODE = env("LEADRELAY_DEFAULT_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env("LEADRELAY_TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("LEADRELAY_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

TASKS = {
    "default": {
        "BACKEND": env("LEADRELAY_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "email", "scoring", "webhooks"],
    }
}
RQ_QUEUES = {
    name: {"URL": env("REDIS_URL", "redis://127.0.0.1:6379/0"), "DEFAULT_TIMEOUT": 600}
    for name in ["default", "email", "scoring", "webhooks"]
}
if TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
    INSTALLED_APPS.append("django_rq")



def mailer(backend: str) -> dict:
    """The MAILERS entry for `backend`, with SMTP options from the environment when it is SMTP."""
    if backend.endswith("smtp.EmailBackend"):
        options = {
            "host": env("EMAIL_HOST", "127.0.0.1"),
            "port": int(env("EMAIL_PORT", "25")),
            "username": env("EMAIL_HOST_USER") or None,
            "password": env("EMAIL_HOST_PASSWORD") or None,
            "use_tls": env_bool("EMAIL_USE_TLS"),
            "timeout": int(env("EMAIL_TIMEOUT", "10")),
        }
    elif backend.endswith("filebased.EmailBackend"):
        options = {"file_path": str(DATA_DIR / "mail")}
    else:
        options = {}
    return {"BACKEND": backend, "OPTIONS": options}


MAILERS = {"default": mailer(env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"))}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "LeadRelay <leadrelay@localhost>")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'self'"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
