"""Attribution over HTTP: the CRM's won revenue or pipeline by channel, and journey files.

`GET /attribution` runs `AttributionRunner` on the CRM (the same report as the page and
`smarketing attribution --from … --to …`); `POST /attribution/paths` runs the engine on
journeys sent in the ChannelAttribution layout (CSV text) or as JSON. Both only read,
so both need the `read` scope. See docs/attribution.md for every model.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from smarketing.analytics.attribution.engine import DEFAULT_HALF_LIFE, MODELS
from smarketing.analytics.attribution.journeys import CHANNEL, WON
from smarketing.analytics.attribution.paths import PathsFileError, parse_json_paths, parse_paths
from smarketing.analytics.attribution.runner import (
    ALL,
    MAX_HALF_LIFE,
    AttributionInput,
    AttributionRunner,
    attribute_paths,
    parse_models,
)
from smarketing.api.auth import READ, scoped
from smarketing.api.parser import read_json
from smarketing.api.schemas import responses
from smarketing.core.errors import FieldProblem, ValidationFailed

router = Router(tags=["attribution"])

MAX_BODY_PATHS = 200_000
MODEL_HELP = f"`{ALL}`, one of {', '.join(MODELS)}, or several separated by commas."


class CreditOut(Schema):
    key: str = Field(description="The channel or campaign (sales activities are `sales:<kind>`).")
    side: str = Field(description="`marketing` or `sales`.")
    conversions: float
    value: float
    share: float = Field(description="Share of the model's value (of conversions if no value).")
    conversions_se: float | None = Field(description="Standard error (sampled Shapley only).")
    value_se: float | None
    removal_effect: float | None = Field(description="Markov only: 1 - P(conv without it)/P(conv).")


class ModelOut(Schema):
    model: str
    label: str
    method: str
    credits: list[CreditOut]
    conversions: float
    value: float
    marketing_conversions: float
    sales_conversions: float
    marketing_value: float
    sales_value: float
    conversion_probability: float | None = Field(description="Markov only.")


class InputOut(Schema):
    date_from: date
    date_to: date
    basis: str
    models: list[str]
    group_by: str
    include_sales: bool
    half_life_days: float


class AttributionOut(Schema):
    models: list[ModelOut]
    channels: list[str]
    conversions: float = Field(description="Converting journeys attributed.")
    value: float
    non_converting: int
    touches: int
    input: InputOut | None = None
    deals: int | None = Field(None, description="Converting deals in the period.")
    deals_value: float | None = None
    unattributed_deals: int | None = Field(
        None, description="Deals with no touch before converting (not attributed)."
    )
    unattributed_value: float | None = None
    notes: list[str]


class AttributionQuery(Schema):
    date_from: date = Field(description="First day of the period (YYYY-MM-DD).")
    date_to: date = Field(description="Last day of the period, inclusive.")
    basis: str = Field(
        WON,
        pattern="^(won|pipeline)$",
        description="won: deals won in the period; pipeline: deals created in it.",
    )
    model: str = Field(ALL, max_length=300, description=MODEL_HELP)
    group_by: str = Field(CHANNEL, pattern="^(channel|campaign)$")
    include_sales: bool = Field(True, description="Sales activities count as touchpoints.")
    half_life: float = Field(
        DEFAULT_HALF_LIFE, gt=0, le=MAX_HALF_LIFE, description="Time decay half-life in days."
    )


class PathsQuery(Schema):
    model: str = Field(ALL, max_length=300, description=MODEL_HELP)
    half_life: float = Field(
        DEFAULT_HALF_LIFE,
        gt=0,
        le=MAX_HALF_LIFE,
        description="Time decay half-life, in touches (journey files carry no timestamps).",
    )


PATHS_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "path;total_conversions;total_conversion_value;total_null\n"
            "search > email;1;120.5;3\n",
        },
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "paths": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "string",
                                        "minLength": 1,
                                        "pattern": "^[^>]*\\S[^>]*$",
                                    },
                                },
                                "conversions": {"type": "number", "minimum": 0, "maximum": 1e15},
                                "value": {"type": "number", "minimum": 0, "maximum": 1e15},
                                "nulls": {"type": "number", "minimum": 0, "maximum": 1e15},
                            },
                            "required": ["path"],
                            "additionalProperties": False,
                        },
                    }
                },
                "required": ["paths"],
                "additionalProperties": False,
            }
        },
    },
}


@router.get("/attribution", response=responses({200: AttributionOut}), **scoped(READ))
def attribution(request: HttpRequest, query: Query[AttributionQuery]):
    """Credit the period's won revenue (or pipeline created) to channels or campaigns.

    One journey per deal: the touches (and sales activities) of all its contacts up to
    the close (won) or the creation (pipeline); each requested model's credit per channel
    or campaign, the marketing/sales split and the deals that had no touch.
    """
    params = AttributionInput(
        date_from=query.date_from,
        date_to=query.date_to,
        basis=query.basis,
        models=parse_models(query.model),
        group_by=query.group_by,
        include_sales=query.include_sales,
        half_life_days=query.half_life,
    )
    return AttributionRunner(params).run().as_dict()


@router.post(
    "/attribution/paths",
    response=responses({200: AttributionOut}),
    openapi_extra={"requestBody": PATHS_BODY, **scoped(READ)["openapi_extra"]},
    auth=scoped(READ)["auth"],
)
def attribution_of_paths(request: HttpRequest, query: Query[PathsQuery]):
    """Run the models on journeys you send: ChannelAttribution CSV text or JSON paths.

    CSV (`Content-Type: text/csv`): a header `path;total_conversions;total_conversion_value;total_null`
    and one path per line, channels joined by ` > `. JSON: `{"paths": [{"path": ["a", "b"],
    "conversions": 1, "value": 10, "nulls": 2}]}`. Bad rows are reported by line (CSV) or
    item (JSON) number; nothing is computed unless every row is good. Writes nothing.
    """
    models = parse_models(query.model)
    content_type = (request.content_type or "").lower()
    try:
        if content_type == "application/json":
            body = read_json(request)
            items = body.get("paths") if isinstance(body, dict) else None
            if isinstance(body, dict) and set(body) - {"paths"}:
                raise ValidationFailed(
                    "The body has unknown keys.",
                    [
                        FieldProblem(f"body.{k}", "is not a known key")
                        for k in sorted(set(body) - {"paths"})
                    ],
                )
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise ValidationFailed(
                    "The body needs `paths`: a list of objects.",
                    [FieldProblem("body.paths", "a list of objects is required")],
                )
            if len(items) > MAX_BODY_PATHS:
                raise ValidationFailed(
                    f"At most {MAX_BODY_PATHS} paths per request.",
                    [FieldProblem("body.paths", "too many paths", len(items))],
                )
            journeys = parse_json_paths(items)
        else:
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                text = request.body.decode("latin-1")
            if "\x00" in text:
                raise ValidationFailed(
                    "Text may not contain NUL characters.",
                    [FieldProblem("body", "contains a NUL character")],
                )
            journeys = parse_paths(text)
    except PathsFileError as exc:
        is_json = content_type == "application/json"
        raise ValidationFailed(
            exc.message,
            [
                FieldProblem(f"body.paths.{p.line - 1}" if is_json else f"line {p.line}", p.message)
                for p in exc.problems[:50]
            ]
            or [FieldProblem("body", exc.message)],
        ) from None
    return attribute_paths(journeys, models, query.half_life).as_dict()
