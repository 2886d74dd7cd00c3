"""Settings, Notifications: admins only; secrets never on the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from smarketing.integrations import outbox
from smarketing.integrations.actions import emit
from smarketing.integrations.models import Delivery, Endpoint
from smarketing.integrations.tests.factories import SIGNING_SECRET, make_endpoint

pytestmark = pytest.mark.django_db

PAYLOAD = {"title": "SLA breached", "text": "Lead waited.", "url": "http://smk.test/leads/1/"}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_only_admins_see_the_page(client, sales_manager):
    client.force_login(sales_manager)
    assert client.get(reverse("web:notifications")).status_code == 403
    assert client.get(reverse("web:notification_deliveries")).status_code == 403


def test_the_page_lists_endpoints_without_their_secrets(admin_client, receiver):
    make_endpoint("webhook", receiver.url, name="Ops hook", events=["sla.breached", "deal.won"])
    make_endpoint("slack", receiver.url, name="Sales channel")
    html = admin_client.get(reverse("web:notifications")).content.decode()
    assert "Ops hook" in html and "Sales channel" in html
    assert "SLA breached" in html and "Deal won" in html
    assert SIGNING_SECRET not in html and "XXXXsecret" not in html
    assert "set ••••cdef" in html


def test_an_admin_adds_a_webhook_endpoint(admin_client, receiver):
    url = reverse("web:notification_endpoint_create", args=["webhook"])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "name": "Zapier",
            "active": "on",
            "url": f"{receiver.url}/in",
            "signing_secret": SIGNING_SECRET,
            "events": ["deal.won", "lead.rejected"],
        },
    )
    assert response.status_code == 302
    endpoint = Endpoint.objects.get(name="Zapier")
    assert endpoint.config == {"url": f"{receiver.url}/in"}
    assert sorted(endpoint.subscriptions.values_list("event", flat=True)) == [
        "deal.won",
        "lead.rejected",
    ]


def test_a_bad_url_is_shown_on_the_form(admin_client):
    url = reverse("web:notification_endpoint_create", args=["webhook"])
    response = admin_client.post(
        url, {"name": "Bad", "url": "ftp://files.test/in", "signing_secret": SIGNING_SECRET}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "must start with http:// or https:// (not ftp://)" in html
    assert "The endpoint could not be added." in html
    assert SIGNING_SECRET not in html  # a password field never echoes
    assert not Endpoint.objects.exists()


def test_the_edit_form_never_shows_a_secret_and_keeps_it_when_left_blank(admin_client, receiver):
    endpoint = make_endpoint("trello", receiver.url, name="Board")
    url = reverse("web:notification_endpoint_edit", args=[endpoint.pk])
    html = admin_client.get(url).content.decode()
    assert "trello-token-1234abcd" not in html
    assert "set ••••abcd; leave blank to keep it." in html
    response = admin_client.post(
        url,
        {
            "name": "Board",
            "active": "on",
            "api_key": "trello-key",
            "list_id": "list-43",
            "token": "",
            "base_url": receiver.url,
            "events": ["deal.won"],
        },
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.config["list_id"] == "list-43"
    assert endpoint.secret_hints == {"token": "abcd"}


def test_send_test_shows_the_answer(admin_client, receiver):
    endpoint = make_endpoint("webhook", receiver.url)
    url = reverse("web:notification_endpoint_test", args=[endpoint.pk])
    response = admin_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "delivered 200" in response.content.decode()
    receiver.answer((410, "channel_is_archived"))
    html = admin_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "dead 410" in html and "HTTP 410" in html


def test_the_delivery_log_filters_and_the_dead_letters_retry(admin_client, receiver):
    hook = make_endpoint("webhook", receiver.url, events=["sla.breached"])
    receiver.answer(404)
    emit("sla.breached", PAYLOAD, key="sla:1")
    outbox.deliver_due()
    emit("sla.breached", {**PAYLOAD, "title": "Second breach"}, key="sla:2")
    outbox.deliver_due()
    dead = Delivery.objects.get(notification__key="sla:1")
    log = reverse("web:notification_deliveries")
    html = admin_client.get(log, {"status": "dead"}).content.decode()
    assert f'id="delivery-{dead.pk}"' in html and "Second breach" not in html
    html = admin_client.get(log, {"status": "delivered", "endpoint": hook.pk}).content.decode()
    assert "Second breach" in html
    bad = admin_client.get(log, {"status": "lost"}, HTTP_HX_REQUEST="true")
    assert "Select a valid choice" in bad.content.decode()
    # the dead letter is on the settings page, and an admin retries it
    page = admin_client.get(reverse("web:notifications")).content.decode()
    assert f'id="delivery-{dead.pk}"' in page
    response = admin_client.post(reverse("web:notification_delivery_retry", args=[dead.pk]))
    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == "pending"
    detail = admin_client.get(reverse("web:notification_delivery", args=[dead.pk]))
    assert "HTTP 404" in detail.content.decode()


def test_retry_all_dead_from_the_page(admin_client, receiver):
    make_endpoint("webhook", receiver.url, events=["sla.breached"])
    receiver.answer(400, 400)
    emit("sla.breached", PAYLOAD, key="sla:1")
    emit("sla.breached", PAYLOAD, key="sla:2")
    outbox.deliver_due()
    response = admin_client.post(reverse("web:notification_retry_dead"), follow=True)
    assert "2 dead deliveries will be sent again." in response.content.decode()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


def test_the_page_and_the_log_read_in_a_fixed_number_of_queries(
    admin_client, receiver, django_assert_max_num_queries
):
    for _ in range(6):
        make_endpoint("webhook", receiver.url, events=["sla.breached", "deal.won"])
    for n in range(30):
        emit("sla.breached", PAYLOAD, key=f"sla:{n}")
    receiver.answer(*[404] * 200)
    outbox.deliver_due()
    # session, user, endpoints + their subscriptions, dead letters, counts, messages…
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("web:notifications")).status_code == 200
    with django_assert_max_num_queries(10):
        assert admin_client.get(reverse("web:notification_deliveries")).status_code == 200
