"""Reading JSON request bodies: malformed JSON is a 400, NUL characters a 422.

Databases refuse text with NUL characters (PostgreSQL rejects `\\u0000` even inside
JSON), so they are turned away at the door with the path of the offending value
instead of failing deep inside a write.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.parser import Parser

from smarketing.core.errors import FieldProblem, ValidationFailed

# Reporting every NUL of a huge document helps nobody; the first few locate the problem.
MAX_REPORTED = 20


def nul_problems(value: Any, path: str) -> list[FieldProblem]:
    """Where `value` holds text with a NUL character, as field paths under `path`."""
    found: list[FieldProblem] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack and len(found) < MAX_REPORTED:
        where, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                found.append(FieldProblem(where, "contains a NUL character"))
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    found.append(FieldProblem(where, "has a key with a NUL character"))
                stack.append((f"{where}.{key}", child))
        elif isinstance(item, list):
            stack.extend((f"{where}.{i}", child) for i, child in enumerate(item))
    return sorted(found, key=lambda p: p.field)


def check_no_nul(value: Any, path: str = "body") -> None:
    problems = nul_problems(value, path)
    if problems:
        raise ValidationFailed("Text may not contain NUL characters.", problems)


def loads_checked(body: bytes) -> Any:
    """`json.loads(body)`, refusing NUL characters anywhere in the document.

    JSON text can only carry a NUL as the escape `\\u0000` (a raw control character
    is not valid JSON), so a body without that escape needs no walk over every value,
    which costs milliseconds for a batch of a thousand touches.
    """
    text = body.decode(json.detect_encoding(body), "surrogatepass")
    data = json.loads(text)
    if "\\u0000" in text or "\x00" in text:
        check_no_nul(data)
    return data


class JsonParser(Parser):
    """ninja's JSON parser plus the NUL check."""

    def parse_body(self, request: HttpRequest) -> Any:
        return loads_checked(request.body)


def read_json(request: HttpRequest) -> Any:
    """The parsed JSON body of a request whose body ninja does not read itself."""
    if not request.body:
        raise ValidationFailed(
            "The request body is empty.", [FieldProblem("body", "a JSON object is required")]
        )
    try:
        return loads_checked(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HttpError(400, "Cannot parse request body") from exc
