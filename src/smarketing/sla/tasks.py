"""The SLA sweep runs every minute in the worker: due-soon marks, breaches, escalations."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from smarketing.sla.actions import sweep

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"), retries=2, retry_delay=10)
@lock_task("sla-sweep")
def sweep_sla() -> None:
    result = sweep()
    if result.total:
        log.info("SLA sweep: %s", result)
