"""``python -m tests.manage_on_clock …``: manage.py, run on the clock of the test that started it (tests/clock.py)."""

import sys

from tests.clock import follow_parent_clock

if __name__ == "__main__":
    follow_parent_clock()
    import os

    from django.core.management import execute_from_command_line

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    execute_from_command_line(["manage.py", *sys.argv[1:]])
