"""Production: every secret from the environment, HTTPS-only cookies, HSTS, a cache shared by every process.

Web processes keep no state of their own: sessions live in the database, the cache in Redis (or, on
one machine without Redis, in files under the data folder), tasks in the database or on RQ. Add web
processes and workers on more machines against the same PostgreSQL and Redis.
"""

from django.core.exceptions import ImproperlyConfigured

from leadrelay.config.settings.base import *  # noqa: F403
from leadrelay.config.settings.base import DATA_DIR, DATABASES, SECRET_KEY, env, env_bool

DEBUG = False
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a random value of at least 50 characters.")

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # single-machine installs keep SQLite under the data folder

# HTTPS: TLS ends at the load balancer or reverse proxy, which sets X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# One cache for every web process and worker (rate limits, throttles): Redis when there is one.
if env("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("LEADRELAY_CACHE_URL", env("REDIS_URL")),
            "KEY_PREFIX": "leadrelay",
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "TIMEOUT": 300,
        }
    }
