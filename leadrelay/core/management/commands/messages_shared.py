"""`manage.py messages_shared`: update the project catalogue (leadrelay/locale) for shared strings.

The project catalogue holds what several apps show: the project templates (base.html, error
pages) and the labels of shared models and errors (roles, lifecycle stages, lead and account
choices, activity outcomes, event types, business errors). Each app's own catalogue is updated
with `makemessages` run inside the app (see `make messages`).
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

SHARED_SOURCES = (
    "leadrelay/templates",
    "leadrelay/config/settings/base.py",
    "leadrelay/core/exceptions.py",
    "leadrelay/core/models.py",
    "leadrelay/org/models.py",
    "leadrelay/leads/lifecycle.py",
    "leadrelay/leads/models.py",
    "leadrelay/desk/models.py",
    "leadrelay/tracking/models.py",
)


class Command(BaseCommand):
    help = "Extract the shared strings into leadrelay/locale/<lang>/LC_MESSAGES/django.po."

    def add_arguments(self, parser):
        parser.add_argument("-l", "--locale", action="append", default=None, help="Language code (default: ja).")

    def handle(self, *args, locale, **options):
        base = Path(settings.BASE_DIR)
        with tempfile.TemporaryDirectory() as tmp:
            # Files are linked under their repository paths, so the catalogue's references read naturally;
            # with no locale folder here, makemessages writes to LOCALE_PATHS[0] (leadrelay/locale).
            for source in SHARED_SOURCES:
                path = base / source
                files = sorted(path.rglob("*")) if path.is_dir() else [path]
                for file in files:
                    if file.is_file() and file.suffix in (".py", ".html", ".txt"):
                        target = Path(tmp) / file.relative_to(base)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.symlink(file, target)
            cwd = os.getcwd()
            os.chdir(tmp)
            try:
                call_command("makemessages", locale=locale or ["ja"], extensions=["html", "txt", "py"],
                             no_obsolete=True, verbosity=options["verbosity"])
            finally:
                os.chdir(cwd)
