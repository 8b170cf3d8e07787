"""The production settings pass Django's deployment checklist and refuse to start without a real secret."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings


def run_manage(*args: str, tmp_path, drop: tuple[str, ...] = (), **env_overrides: str) -> subprocess.CompletedProcess:
    """manage.py under the production settings in a fresh process; `drop` removes variables from its environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_") and key not in drop}
    env.update(DJANGO_SETTINGS_MODULE="leadrelay.config.settings.production", LEADRELAY_DATA_DIR=str(tmp_path))
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args], env=env, cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean(tmp_path):
    """`manage.py check --deploy` reports no issue at all (warnings fail too) with a long random secret key."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path,
                        DJANGO_SECRET_KEY=secrets.token_urlsafe(64))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("secret", ["", "short-key", "insecure-" + "x" * 60])
def test_production_refuses_a_missing_short_or_default_secret_key(tmp_path, secret):
    """Without a random DJANGO_SECRET_KEY of 50+ characters nothing starts, and the error says what to set."""
    result = run_manage("check", tmp_path=tmp_path, DJANGO_SECRET_KEY=secret)
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


PRINT_SETTINGS = (
    "from django.conf import settings; "
    "print(settings.CACHES['default']['BACKEND']); print(settings.DEBUG); print(settings.SECURE_SSL_REDIRECT)"
)


def test_processes_share_a_redis_cache_when_redis_is_configured(tmp_path):
    """With REDIS_URL every web process and worker uses the same Redis cache; without it, files on the machine."""
    key = secrets.token_urlsafe(64)
    with_redis = run_manage("shell", "--no-imports", "-c", PRINT_SETTINGS, tmp_path=tmp_path, DJANGO_SECRET_KEY=key,
                            REDIS_URL="redis://127.0.0.1:6379/0")
    assert with_redis.returncode == 0, with_redis.stderr
    assert with_redis.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "False", "True"]

    without = run_manage("shell", "--no-imports", "-c", PRINT_SETTINGS, tmp_path=tmp_path, drop=("REDIS_URL",),
                         DJANGO_SECRET_KEY=key, DJANGO_SECURE_SSL_REDIRECT="0")
    assert without.returncode == 0, without.stderr
    assert without.stdout.split() == ["django.core.cache.backends.filebased.FileBasedCache", "False", "False"]
