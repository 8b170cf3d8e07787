"""`manage.py demo_serve`: prints a login per role, serves the app with the worker, stops both on SIGTERM."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings

from leadrelay.core.demo import DEMO_USERS
from leadrelay.core.management.commands.demo_serve import Command


def test_banner_lists_the_url_and_a_login_for_every_role():
    out = StringIO()
    command = Command(stdout=out)
    command.print_banner("http://127.0.0.1:8765/")
    text = out.getvalue()
    assert "http://127.0.0.1:8765/" in text
    for user in DEMO_USERS:
        assert re.search(rf"^\s+{user.username}\s+{re.escape(user.password)}\s", text, re.M)
    roles_shown = {role for user in DEMO_USERS for role in user.roles}
    assert roles_shown == {"admin", "marketing", "is_rep", "is_manager", "fs_rep", "fs_manager"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _login(base: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    response = opener.open(urllib.request.Request(base + "login/", data=data.encode()), timeout=30)
    assert response.geturl() == base, f"{username} was not logged in"
    return opener.open(base + "charter/", timeout=30).read().decode()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_demo_serves_every_login_and_stops_cleanly_on_sigterm(tmp_path: Path):
    """On a fresh SQLite database: migrate, seed, serve; each printed login works; SIGTERM stops everything."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "SQLITE_PATH", "LEADRELAY_TASKS_BACKEND", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="leadrelay.config.settings.local", LEADRELAY_DATA_DIR=str(tmp_path),
               LEADRELAY_STATIC_ROOT=str(tmp_path / "static"), DJANGO_DEBUG="1")
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, timeout=300)
    subprocess.run([*manage, "seed", "--leads", "20", "-v0"], env=env, check=True, timeout=300)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([*manage, "demo_serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "login/", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, "demo_serve exited early"
                assert time.monotonic() < deadline, "the demo did not answer within two minutes"
                time.sleep(0.5)
        for user in DEMO_USERS:
            page = _login(base, user.username, user.password)
            assert "help as many prospective companies" in page or "1社でも多くの見込客" in page
        assert urllib.request.urlopen(base + "static/leadrelay/app.css", timeout=10).status == 200
        assert sqlite_journal_mode(tmp_path / "leadrelay.sqlite3") == "wal"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
    assert server.returncode == 0, output
    assert base in output and "Demo stopped." in output
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "login/", timeout=5)


def sqlite_journal_mode(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]
