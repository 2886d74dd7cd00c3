"""`smarketing outbox …`: list, retry, deliver, endpoints, test; exit codes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from smarketing.integrations import outbox
from smarketing.integrations.actions import emit
from smarketing.integrations.models import Delivery
from smarketing.integrations.tests.factories import SIGNING_SECRET, make_endpoint

pytestmark = pytest.mark.django_db

PAYLOAD = {"title": "MQL assigned", "text": "Ann goes to Bo.", "url": "http://smk.test/c/1/"}


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("outbox", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


def test_list_deliver_and_retry(receiver):
    endpoint = make_endpoint("webhook", receiver.url, name="Hook", events=["mql.assigned"])
    emit("mql.assigned", PAYLOAD, key="mql:1")
    code, out, _ = run("list", "--status", "pending")
    delivery = Delivery.objects.get()
    assert code == 0
    assert out.startswith(f"{delivery.pk}\tpending\tmql.assigned\tHook\ttries 0\t-\t")
    receiver.answer((401, "bad token"))
    assert run("deliver") == (0, "1 taken: 0 delivered, 0 to retry, 1 dead.\n", "")
    code, out, _ = run("list", "--status", "dead", "--endpoint", str(endpoint.pk))
    assert "\tdead\t" in out and "\t401\t" in out
    assert out.endswith("\tHTTP 401. Not retried: fix the endpoint, then retry.\n")
    assert run("retry", str(delivery.pk))[1] == f"Delivery {delivery.pk} to Hook queued again.\n"
    assert run("retry", str(delivery.pk))[0] == 5  # pending now: nothing to retry
    assert run("deliver")[1] == "1 taken: 1 delivered, 0 to retry, 0 dead.\n"
    assert run("retry", "--all-dead") == (0, "0 dead deliveries queued again.\n", "")


def test_bad_input_and_unknown_ids():
    code, _, err = run("list", "--status", "lost")
    assert code == 2 and "status: must be one of" in err
    assert run("list", "--limit", "0")[0] == 2
    assert run("retry")[0] == 2
    assert run("retry", "12345") == (4, "", "No delivery with id 12345.")
    assert run("test", "12345")[0] == 4
    assert run("list")[2] == "No deliveries match.\n"


def test_endpoints_and_test_message(receiver):
    endpoint = make_endpoint("webhook", receiver.url, name="Hook", events=["deal.won"])
    code, out, _ = run("endpoints")
    assert code == 0
    assert out == (
        f"{endpoint.pk}\twebhook\tHook\tactive\t{receiver.url}/hooks/smarketing\tdeal.won\t"
        "0 waiting, 0 dead\tsigning_secret set ••••cdef\n"
    )
    assert SIGNING_SECRET not in out
    code, out, _ = run("test", str(endpoint.pk))
    assert code == 0 and out.startswith("delivered 200 in ")
    receiver.answer(500)
    code, _, err = run("test", str(endpoint.pk))
    assert code == 1 and err.startswith("dead 500 in ") and "Gave up after 1 attempt." in err


def test_deliver_with_nothing_due():
    assert run("deliver")[1] == "0 taken: 0 delivered, 0 to retry, 0 dead.\n"
    assert outbox.deliver_due().claimed == 0
