"""The API docs page, served without any network access.

Swagger UI comes from the static files django-ninja ships, streamed from the
installed package (no CDN, no collectstatic step). Without JavaScript the page still
lists every operation with the scope it needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninja
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from ninja.openapi.docs import DocsBase

from smarketing.api.errors import error_response

if TYPE_CHECKING:
    from ninja import NinjaAPI

NINJA_STATIC = Path(ninja.__file__).resolve().parent / "static" / "ninja"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.png": "image/png",
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def docs_asset(request: HttpRequest, name: str) -> HttpResponseBase:
    if name not in ASSETS:
        return error_response(404, "not_found", f"There is no docs asset {name}.")
    response = FileResponse((NINJA_STATIC / name).open("rb"), content_type=ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


class OfflineDocs(DocsBase):
    """Swagger UI with every asset served by the API itself."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        openapi_url = self.get_openapi_url(api, kwargs)
        schema = api.get_openapi_schema(path_params=kwargs)
        operations = [
            {
                "method": method.upper(),
                "path": op_path,
                "summary": details.get("summary", ""),
                "scope": details.get("x-required-scope", ""),
            }
            for op_path, item in schema["paths"].items()
            for method, details in item.items()
            if method in HTTP_METHODS
        ]
        settings = {
            "url": openapi_url,
            "layout": "BaseLayout",
            "deepLinking": True,
            "showExtensions": True,
            # The default validator is an online service; the page must not call out.
            "validatorUrl": None,
        }
        assets = {
            name.split(".")[0].replace("-", "_"): reverse(
                f"{api.urls_namespace}:docs-asset", kwargs={"name": name}
            )
            for name in ASSETS
        }
        context = {
            "api": api,
            "openapi_url": openapi_url,
            "swagger_settings": json.dumps(settings),
            "csrf_token": get_token(request),
            "assets": assets,
            "operations": operations,
        }
        return render(request, "api/docs.html", context)
