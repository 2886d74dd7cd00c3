"""Property-based tests of the API against its own OpenAPI document (schemathesis).

Every documented operation is called with generated valid and invalid input, as an
admin, through the project's WSGI app: no response may be a server error, and every
response must match the status codes, content types and schemas the document
promises; invalid input must be refused with a 4xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from smarketing.api.router import api
from smarketing.api.tests.conftest import token_for
from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_company, make_contact
from smarketing.crm.actions import do_create_deal

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Few examples per operation and mode keep the whole run well under a minute.
EXAMPLES = 5

CONFIG = SchemathesisConfig.from_dict({"generation": {"database": "none"}})
SCHEMA = schemathesis.openapi.from_dict(
    api.get_openapi_schema(path_prefix="/api/v1/"), config=CONFIG
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI app, served inside the test's transaction.

    Django closes "old" connections around each request, which would end the test's
    transaction; its own test client turns that off the same way.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db) -> None:
    """A few records, so the low ids generated for paths exist and happy paths are reached."""
    contact = make_contact(email="seed@acme.test")
    make_company(name="Seed Co")
    make_campaign(name="Seed campaign")
    do_create_deal({"name": "Seed deal", "contact_ids": [contact.pk]}, actor=SYSTEM)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_operation_keeps_its_promises(operation, mode, wsgi_app, seeded, admin_user):
    headers = {"Authorization": f"Bearer {token_for(admin_user, ['admin'])}"}
    checks = CHECKS
    # A batch judges each item on its own and answers 200 with per-item errors (tested in
    # test_touches.py), so a schema-violating item is reported, not the whole request.
    if mode == GenerationMode.NEGATIVE and operation.label != "POST /api/v1/touches/batch":
        checks = [*CHECKS, negative_data_rejection]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        case.call_and_validate(headers=headers, checks=checks, app=wsgi_app)

    call()


def test_every_operation_is_exercised():
    labels = {op.label for op in OPERATIONS}
    assert "POST /api/v1/touches/batch" in labels and "GET /api/v1/contacts" in labels
    assert len(labels) == sum(
        1 for item in api.get_openapi_schema(path_prefix="/api/v1/")["paths"].values() for _ in item
    )
