"""The OpenAPI document and the docs page, which must work without network access."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_openapi_document_is_public_and_complete():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    assert {"TouchIn", "ErrorOut", "ContactOut"} <= set(schemas)
    batch_items = schemas["TouchBatchIn"]["properties"]["items"]
    assert batch_items["items"] == {"$ref": "#/components/schemas/TouchIn"}
    assert batch_items["maxItems"] == 1000
    single = document["paths"]["/api/v1/touches"]["post"]
    assert single["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TouchIn"
    )
    assert set(document["components"]["securitySchemes"]) == {"BearerToken", "SessionCookie"}


def test_docs_page_loads_only_its_own_assets():
    client = Client()
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
    assert external == [], "no CDN or other host"
    assets = re.findall(r"""(?:src|href)=["'](/[^"']+)["']""", html)
    assert len(assets) >= 3
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert '"validatorUrl": null' in html, "Swagger's online validator stays off"
    assert "/api/v1/contacts" in html, "the operations are listed for readers without JavaScript"


def test_unknown_docs_assets_are_404():
    response = Client().get("/api/v1/docs/assets/..%2Fsettings.py")
    assert response.status_code == 404
    assert Client().get("/api/v1/docs/assets/redoc.standalone.js.map").status_code == 404
