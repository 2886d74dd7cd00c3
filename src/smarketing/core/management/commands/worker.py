"""`smarketing worker`: the background worker (huey's consumer) with every one of its options.

It runs the queued tasks and the periodic ones declared in each app's `tasks.py`
(e.g. the daily clean-up of expired sessions). `smarketing serve` starts one itself
unless given `--no-worker`.
"""

import logging

from huey.contrib.djhuey.management.commands.run_huey import Command as RunHuey


class Command(RunHuey):
    help = "Run the background worker: queued tasks and periodic jobs (see `--help` for options)."

    def handle(self, *args, **options):
        # The consumer gives the `huey` logger its own handler; without this every line
        # would be printed twice (once more through the root logger).
        logging.getLogger("huey").propagate = False
        return super().handle(*args, **options)
