"""`python -m leadrelay <command>` runs a management command, e.g. `python -m leadrelay seed --leads 500`."""

import os
import sys

from django.core.management import execute_from_command_line


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadrelay.config.settings.local")
    execute_from_command_line([sys.argv[0], *sys.argv[1:]])


if __name__ == "__main__":
    main()
