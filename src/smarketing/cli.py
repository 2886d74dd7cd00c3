"""The `smarketing` command: every Django management command, plus the app's own.

`smarketing migrate`, `smarketing demo`, `smarketing serve`, `smarketing import contacts FILE`…
are the same as `python -m django <command>` with the project's settings.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["smarketing", *args])


if __name__ == "__main__":
    main()
