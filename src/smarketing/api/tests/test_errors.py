"""One error body everywhere: malformed JSON, validation paths, 404s, 405s, surprises."""

from __future__ import annotations

import pytest

from smarketing.api.tests.conftest import error_of, fields_of
from smarketing.core.testing import make_contact
from smarketing.crm.models import Contact, Touch

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw", ['{"email": "a@b.test"', "not json", "{'email': 1}", b"\xff\xfe"])
def test_malformed_json_is_400(writer_api, raw):
    response = writer_api.post("/contacts", raw=raw)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "malformed_json"
    assert "JSON" in error["message"]
    assert not Contact.objects.exists()


def test_malformed_json_on_touch_ingestion_is_400(ingest_api):
    for path in ("/touches", "/touches/batch"):
        response = ingest_api.post(path, raw='{"items": [')
        assert response.status_code == 400, path
        assert error_of(response)["code"] == "malformed_json"


def test_schema_errors_are_422_with_field_paths(writer_api):
    response = writer_api.post(
        "/contacts", {"email": 5, "seniority": "boss", "company_id": 0, "emial": "x"}
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert {"body.email", "body.seniority", "body.company_id", "body.emial"} <= fields_of(response)
    by_field = {p["field"]: p for p in error["problems"]}
    assert by_field["body.seniority"]["value"] == "boss"


def test_domain_errors_are_located_in_the_body(writer_api):
    response = writer_api.post("/contacts", {"email": "not-an-email"})
    assert response.status_code == 422
    assert fields_of(response) == {"body.email"}
    assert error_of(response)["problems"][0]["value"] == "not-an-email"


def test_query_errors_are_located_in_the_query(writer_api):
    response = writer_api.get("/contacts", {"stage": "nonsense", "limit": 0})
    assert response.status_code == 422
    assert "query.limit" in fields_of(response)
    response = writer_api.get("/contacts", {"stage": "nonsense", "sort": "shoe-size"})
    assert response.status_code == 422
    assert fields_of(response) == {"query.stage", "query.sort"}


def test_a_missing_body_is_422(writer_api):
    response = writer_api.client.post(
        "/api/v1/contacts/1/stage", content_type="application/json", headers=writer_api.headers
    )
    assert response.status_code in (404, 422)
    contact = make_contact()
    response = writer_api.client.post(
        f"/api/v1/contacts/{contact.pk}/stage",
        content_type="application/json",
        headers=writer_api.headers,
    )
    assert response.status_code == 422
    assert "body" in next(iter(fields_of(response)))


def test_unknown_ids_are_404(writer_api, admin_api):
    for path in (
        "/contacts/999999",
        "/contacts/999999/timeline",
        "/companies/999999",
        "/deals/999999",
        "/campaigns/999999",
        f"/contacts/{2**70}",
    ):
        response = writer_api.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"
    assert writer_api.post("/contacts/999999/stage", {"stage": "mql"}).status_code == 404
    assert writer_api.patch("/deals/999999", {"name": "x"}).status_code == 404
    assert admin_api.post("/tokens/999999/revoke").status_code == 404
    assert admin_api.get("/users/999999").status_code == 404


def test_unknown_urls_and_methods_answer_in_json(writer_api):
    response = writer_api.get("/no-such-thing")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    response = writer_api.client.put("/api/v1/contacts", headers=writer_api.headers)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_nul_characters_are_refused_before_the_database(writer_api, ingest_api):
    response = writer_api.post("/contacts", {"email": "a@b.test", "first_name": "A\x00B"})
    assert response.status_code == 422
    assert fields_of(response) == {"body.first_name"}
    response = writer_api.get("/contacts", {"q": "x\x00"})
    assert response.status_code == 422
    assert fields_of(response) == {"query.q"}
    response = ingest_api.post(
        "/touches/batch", {"items": [{"email": "a@b.test", "type": "page_view", "url": "\x00"}]}
    )
    assert response.status_code == 422
    assert fields_of(response) == {"body.items.0.url"}
    assert not Contact.objects.exists() and not Touch.objects.exists()


def test_out_of_range_numbers_are_422(writer_api):
    contact = make_contact()
    response = writer_api.post(
        f"/contacts/{contact.pk}/activities", {"kind": "call", "duration_seconds": 2**40}
    )
    assert response.status_code == 422
    assert fields_of(response) == {"body.duration_seconds"}
    response = writer_api.post("/deals", {"name": "Big", "amount": "1e30"})
    assert response.status_code == 422
    assert fields_of(response) == {"body.amount"}


def test_an_unexpected_error_is_500_without_a_traceback(writer_api, monkeypatch):
    from smarketing.api import contacts

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/app.py line 3")

    monkeypatch.setattr(contacts, "paginate", explode)
    response = writer_api.get("/contacts")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_conflicts_are_409(writer_api):
    make_contact(email="taken@acme.test")
    response = writer_api.post("/contacts", {"email": "TAKEN@acme.test"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert fields_of(response) == {"body.email"}


LONG_EMAIL = "a" * 64 + "@" + ("b" * 63 + ".") * 3 + "com"  # valid in form, 260 characters


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts", {"email": LONG_EMAIL}, "body.email"),
        ("/touches", {"email": LONG_EMAIL, "type": "page_view"}, "body.email"),
        (
            "/touches",
            {"email": "x@y.test", "type": "page_view", "campaign_id": 10**30},
            "body.campaign_id",
        ),
        (
            "/touches",
            {"email": "x@y.test", "type": "page_view", "occurred_at": "0001-01-01T00:00:00+14:00"},
            "body.occurred_at",
        ),
        (
            "/touches",
            {"email": "x@y.test", "type": "page_view", "occurred_at": 1e30},
            "body.occurred_at",
        ),
        ("/companies", {"name": "X", "domain": "d" * 300 + ".com"}, "body.domain"),
    ],
)
def test_input_the_database_cannot_hold_is_422(writer_api, ingest_api, path, body, field):
    client = ingest_api if path == "/touches" else writer_api
    response = client.post(path, body)
    assert response.status_code == 422, response.content
    assert fields_of(response) == {field}
    assert not Contact.objects.exists() and not Touch.objects.exists()
