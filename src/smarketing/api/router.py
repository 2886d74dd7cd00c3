"""The REST API: django-ninja, mounted at /api/v1/ (see docs/api.md).

`api` is the NinjaAPI object the project's URL map mounts. Besides the resource
routers it serves the OpenAPI document (`openapi.json`), a docs page that works
offline (`docs`, Swagger UI from the files ninja ships), and JSON errors for unknown
URLs and methods, so a client never sees an HTML page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI
from ninja.errors import ValidationError

from smarketing.api import (
    activities,
    attribution,
    campaigns,
    companies,
    contacts,
    deals,
    definitions,
    exports,
    handoff,
    imports,
    insights,
    notifications,
    properties,
    reports,
    scoring,
    sla,
    tokens,
    touches,
    users,
)
from smarketing.api.docs import OfflineDocs, docs_asset
from smarketing.api.errors import (
    error_response,
    install_error_handlers,
    json_errors_for_plain_views,
    not_found_response,
)
from smarketing.api.parser import JsonParser, nul_problems
from smarketing.api.schemas import TouchIn

DESCRIPTION = """
The shared CRM of Smarketing: contacts, companies, campaigns, touches, activities and deals.

**Authentication.** Send `Authorization: Bearer <token>` (tokens are issued by an admin,
`POST /tokens` or `smarketing token create`), or use the signed-in browser session with
the `X-CSRFToken` header on writes. Each operation names the scope it needs in
`x-required-scope`: `ingest` (post touches), `read`, `write` or `admin` (`admin` implies
the others). The caller's role is checked as well.

**Errors** always have the body
`{"error": {"code": "...", "message": "...", "problems": [{"field": "...", "message": "...", "value": ...}]}}`.

**Lists** take `limit` (1 to 200) and `offset` and return `count`, `limit`, `offset`, `items`,
in a stable order (ties broken by id).
""".strip()


def _query_guard(view: Any) -> Any:
    """Turn away query strings with NUL characters (no database stores them) with a 422."""

    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        problems = []
        for key, values in request.GET.lists():
            for value in values:
                problems.extend(nul_problems(value, f"query.{key}"))
        if problems:
            return error_response(
                422, "validation_failed", "Text may not contain NUL characters.", problems
            )
        return view(request, *args, **kwargs)

    guarded.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return json_errors_for_plain_views(guarded)


class SmarketingAPI(NinjaAPI):
    def _get_urls(self) -> list[URLPattern | URLResolver]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _query_guard(pattern.callback)
        return [
            *patterns,
            path("docs/assets/<str:name>", docs_asset, name="docs-asset"),
            # Last: any other URL under the API answers with the JSON error body.
            re_path(r"^.*$", not_found_response, name="not-found"),
        ]

    def validation_error_from_error_contexts(self, error_contexts: list) -> ValidationError:
        """ninja's validation errors, located as the client sees the request.

        The body's parameter name is an implementation detail (`body.payload.email`
        becomes `body.email`), and the offending input is kept so the error body can
        echo it.
        """
        errors = []
        for context in error_contexts:
            model = context.model
            source = model.__ninja_param_source__
            single = getattr(model, "__read_from_single_attr__", None)
            flatten = model.__ninja_flatten_map_reverse__
            for error in context.pydantic_validation_error.errors(include_url=False):
                loc = tuple(flatten.get(error["loc"], error["loc"]))
                if single and loc[:1] == (single,):
                    loc = loc[1:]
                errors.append(
                    {"loc": (source, *loc), "msg": error["msg"], "input": error.get("input")}
                )
        return ValidationError(errors)

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        # The touch item is validated by the ingestion action, not by ninja, so its
        # schema is added here for the documentation of both touch endpoints.
        item = TouchIn.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema["components"].setdefault("schemas", {})
        components.update(item.pop("$defs", {}))
        components["TouchIn"] = item
        batch = components.get("TouchBatchIn", {}).get("properties", {}).get("items")
        if batch is not None:
            batch["items"] = {"$ref": "#/components/schemas/TouchIn"}
            batch["maxItems"] = settings.SMARKETING_MAX_BATCH
        return schema


api = SmarketingAPI(
    title="Smarketing API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs=OfflineDocs(),
    parser=JsonParser(),
)
install_error_handlers(api)

for resource in (
    contacts,
    companies,
    deals,
    campaigns,
    activities,
    touches,
    properties,
    imports,
    exports,
    users,
    tokens,
    definitions,
    scoring,
    handoff,
    sla,
    notifications,
    reports,
    attribution,
    insights,
):
    api.add_router("", resource.router)
