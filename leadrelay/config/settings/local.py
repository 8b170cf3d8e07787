"""Development and demo: SQLite under data/, mail to files, debug on unless told otherwise."""

from leadrelay.config.settings.base import *  # noqa: F403
from leadrelay.config.settings.base import DATA_DIR, env, env_bool, mailer

DEBUG = env_bool("DJANGO_DEBUG", True)
MAILERS = {"default": mailer(env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"))}
DATA_DIR.mkdir(parents=True, exist_ok=True)
