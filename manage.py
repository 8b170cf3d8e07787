#!/usr/bin/env python
"""LeadRelay's command line: python manage.py <command> (or python -m leadrelay <command>)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadrelay.config.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
