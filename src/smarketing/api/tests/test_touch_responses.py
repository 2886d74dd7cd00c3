"""Touch endpoints build their answers without re-validation: the answers must still be
exactly what the documented schemas give, and NUL characters are still refused wherever
they hide in a body."""

from __future__ import annotations

import json

import pytest

from smarketing.api.parser import loads_checked
from smarketing.api.schemas import IngestResultOut, TouchBatchOut
from smarketing.api.touches import result_out
from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.actions import IngestResult
from smarketing.crm.choices import Stage
from smarketing.crm.models import Touch

RESULTS = [
    IngestResult(
        index=0,
        status="created",
        touch_id=7,
        contact_id=3,
        contact_created=True,
        stage=Stage.SUBSCRIBER,
    ),
    IngestResult(index=1, status="duplicate", touch_id=7, contact_id=3, stage="lead"),
    IngestResult(
        index=2,
        status="error",
        errors=[
            FieldProblem("items.2.type", "must be one of …", "nope"),
            FieldProblem("items.2.properties", "must be an object", ["a", 1, None]),
            FieldProblem("items.2.email", "an email or a contact_external_id is required"),
        ],
    ),
]


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.status)
def test_result_is_what_the_schema_validates_to(result):
    validated = IngestResultOut.model_validate(result).model_dump()
    assert result_out(result) == validated
    assert json.dumps(result_out(result)) == json.dumps(validated)


def test_batch_answer_for_created_replayed_and_bad_items(ingest_api):
    item = {"email": "ada@acme.test", "type": "form_submission", "external_id": "ev-1"}
    response = ingest_api.post(
        "/touches/batch",
        {"items": [item, {"type": "nope", "email": "x"}, item, {"email": "b@acme.test"}]},
    )
    assert response.status_code == 200
    body = response.json()
    assert TouchBatchOut.model_validate(body).model_dump() == body
    touch = Touch.objects.get()
    assert {k: body[k] for k in ("count", "created", "duplicates", "errors")} == {
        "count": 4,
        "created": 1,
        "duplicates": 1,
        "errors": 2,
    }
    created, bad, replay, missing_type = body["results"]
    assert created == {
        "index": 0,
        "status": "created",
        "touch_id": touch.pk,
        "contact_id": touch.contact_id,
        "contact_created": True,
        "stage": "lead",
        "errors": [],
    }
    assert replay == {**created, "index": 2, "status": "duplicate"}
    assert bad["status"] == "error" and bad["touch_id"] is None and bad["stage"] == ""
    assert {p["field"] for p in bad["errors"]} == {"items.1.email", "items.1.type"}
    assert {p["value"] for p in bad["errors"]} == {"x", "nope"}
    assert [p["field"] for p in missing_type["errors"]] == ["items.3.type"]


def test_single_answer_matches_the_schema(ingest_api):
    item = {"email": "ada@acme.test", "type": "page_view", "external_id": "ev-9"}
    first = ingest_api.post("/touches", item)
    again = ingest_api.post("/touches", item)
    assert (first.status_code, again.status_code) == (201, 200)
    touch = Touch.objects.get()
    assert first.json() == {
        "index": 0,
        "status": "created",
        "touch_id": touch.pk,
        "contact_id": touch.contact_id,
        "contact_created": True,
        "stage": "subscriber",
        "errors": [],
    }
    assert again.json() == {**first.json(), "status": "duplicate"}


@pytest.mark.parametrize(
    "document",
    [
        {"items": [{"properties": {"a\x00": 1}}]},
        {"items": [{"properties": {"deep": [{"x": "…\x00"}]}}]},
        {"email": "\x00"},
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_nul_is_found_in_any_key_or_value_and_any_encoding(document, encoding):
    body = json.dumps(document, ensure_ascii=encoding == "utf-8").encode(encoding)
    with pytest.raises(ValidationFailed):
        loads_checked(body)


def test_bodies_without_nul_parse_as_json_does():
    document = {"items": [{"email": "é@acme.test", "url": "a\\u0000b", "n": [1, 2.5, None]}]}
    for encoding in ("utf-8", "utf-16"):
        body = json.dumps(document, ensure_ascii=False).encode(encoding)
        assert loads_checked(body) == json.loads(body) == document
