"""`smarketing outbox …`: the notification outbox from the shell (see docs/notifications.md).

Subcommands:
  list [--status S] [--event E] [--endpoint ID] [--limit N]   the delivery log, newest first
  retry ID | --all-dead                                       send dead deliveries again
  deliver                                                     one delivery pass now (cron, debugging)
  endpoints                                                   endpoints, their events and queue
  test ENDPOINT_ID                                            send a test message now

Exit codes:
  0  done
  1  a test message was not accepted by the endpoint
  2  invalid input (bad status, event or limit)
  4  not found: no such delivery or endpoint
  5  refused: the delivery is not dead or failed, the endpoint is inactive
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from smarketing.core.actors import Actor
from smarketing.core.errors import Conflict, DomainError, NotAllowed, NotFound
from smarketing.integrations.actions import do_retry, do_retry_dead, do_send_test
from smarketing.integrations.channels import target_of
from smarketing.integrations.choices import DeliveryStatus, Event
from smarketing.integrations.models import Delivery, Endpoint
from smarketing.integrations.outbox import deliver_due
from smarketing.integrations.selectors import (
    DeliveryFilter,
    delivery_log,
    endpoints_with_subscriptions,
    secret_state,
)

NOT_DELIVERED, INVALID, NOT_ALLOWED, NOT_FOUND, REFUSED = 1, 2, 3, 4, 5
CLI = Actor(rule="cli")


def exit_code_for(exc: DomainError) -> int:
    if isinstance(exc, NotAllowed):
        return NOT_ALLOWED
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Conflict):
        return REFUSED
    return INVALID


def when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


class Command(BaseCommand):
    help = "List, retry and deliver outbound notifications (Slack, Trello, Asana, webhooks)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="The delivery log, newest first.")
        listing.add_argument("--status", default="", help=", ".join(DeliveryStatus.values))
        listing.add_argument("--event", default="", help=", ".join(Event.values))
        listing.add_argument("--endpoint", type=int, default=None, help="An endpoint id.")
        listing.add_argument("--limit", type=int, default=50)
        retry = sub.add_parser("retry", help="Send a dead delivery, or all of them, again.")
        retry.add_argument("id", nargs="?", type=int, help="A delivery id.")
        retry.add_argument("--all-dead", action="store_true", help="Every dead delivery.")
        sub.add_parser("deliver", help="Run one delivery pass now.")
        sub.add_parser("endpoints", help="Endpoints with their events (secrets masked).")
        test = sub.add_parser("test", help="Send a test message to an endpoint now.")
        test.add_argument("endpoint", type=int, help="The endpoint's id.")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            self._exit(exit_code_for(exc), str(exc))

    def _exit(self, code: int, message: str) -> None:
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(code)
        raise CommandError(message, returncode=code)

    def _list(self, options):
        if not 1 <= options["limit"] <= 10_000:
            self._exit(INVALID, "--limit must be from 1 to 10000.")
        deliveries = delivery_log(
            DeliveryFilter(
                status=options["status"], event=options["event"], endpoint=options["endpoint"]
            )
        )[: options["limit"]]
        rows = list(deliveries)
        if not rows:
            self.stderr.write("No deliveries match.")
            return
        for d in rows:
            code = str(d.last_status_code or "-")
            error = d.last_error.replace("\n", " ")[:120]
            self.stdout.write(
                f"{d.pk}\t{d.status}\t{d.notification.event}\t{d.endpoint.name}\t"
                f"tries {d.attempts}\t{code}\t{when(d.created_at)}\t{error}"
            )

    def _retry(self, options):
        if options["all_dead"] == (options["id"] is not None):
            self._exit(INVALID, "Give one delivery id, or --all-dead.")
        if options["all_dead"]:
            count = do_retry_dead(actor=CLI)
            self.stdout.write(f"{count} dead deliveries queued again.")
            return
        delivery = Delivery.objects.select_related("endpoint").filter(pk=options["id"]).first()
        if delivery is None:
            raise NotFound(f"No delivery with id {options['id']}.")
        do_retry(delivery, actor=CLI)
        self.stdout.write(f"Delivery {delivery.pk} to {delivery.endpoint.name} queued again.")

    def _deliver(self, options):
        result = deliver_due()
        self.stdout.write(
            f"{result.claimed} taken: {result.delivered} delivered, "
            f"{result.failed} to retry, {result.dead} dead."
        )

    def _endpoints(self, options):
        endpoints = list(endpoints_with_subscriptions())
        if not endpoints:
            self.stderr.write("No endpoints yet.")
            return
        for e in endpoints:
            events = ",".join(s.event for s in e.subscriptions.all()) or "-"
            secrets = ", ".join(f"{k} {v}" for k, v in secret_state(e).items())
            state = "active" if e.is_active else "inactive"
            self.stdout.write(
                f"{e.pk}\t{e.kind}\t{e.name}\t{state}\t{target_of(e.kind, e.config)}\t"
                f"{events}\t{e.waiting} waiting, {e.dead} dead\t{secrets}"
            )

    def _test(self, options):
        endpoint = Endpoint.objects.filter(pk=options["endpoint"]).first()
        if endpoint is None:
            raise NotFound(f"No endpoint with id {options['endpoint']}.")
        attempt = do_send_test(endpoint, actor=CLI)
        line = f"{attempt.outcome} {attempt.status_code or ''}".strip()
        line += f" in {attempt.duration_ms} ms"
        if attempt.error:
            line += f": {attempt.error}"
        if attempt.outcome != DeliveryStatus.DELIVERED:
            self._exit(NOT_DELIVERED, line)
        self.stdout.write(line)
