"""Attribution from the CRM (runner), the paths file reader, the command, the API and the page.

The CRM fixture is `attribution_fixture.build` (see its docstring for the dates); the
journeys, worked out by hand, are:

    D1 (1000, won 20th)  paid_search · social · email · sales:call   (A became MQL after social)
    D2 (500, won 15th)   organic_search · events · sales:meeting      (no MQL known)
    D3 (200)             no touch: not attributed
    non-converting       E: display; F: paid_search (F's deal was lost)
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from smarketing.analytics.attribution.paths import PathsFileError, parse_paths
from smarketing.analytics.attribution.runner import AttributionInput, AttributionRunner
from smarketing.analytics.tests.attribution_fixture import build
from smarketing.api.tests.conftest import Api, token_for
from smarketing.core.errors import ValidationFailed

MARCH = {"date_from": date(2025, 3, 1), "date_to": date(2025, 3, 31)}
HEADER = "path;total_conversions;total_conversion_value;total_null\n"


def run(**kw):
    params = {**MARCH, **kw}
    return AttributionRunner(AttributionInput(**params)).run()


def values(model_credits) -> dict[str, float]:
    return {c.key: c.value for c in model_credits.credits}


@pytest.fixture
def crm(db, rep):
    return build(rep)


# --- runner -------------------------------------------------------------------------------


def test_linear_won_revenue_by_channel(crm):
    # When March's won revenue is credited linearly
    result = run(models=("linear",))
    # Then D1's 1000 goes 250 to each of its four touches and D2's 500 a third to each of three
    third = 500 / 3
    assert values(result.models[0]) == pytest.approx(
        {
            "paid_search": 250,
            "social": 250,
            "email": 250,
            "sales:call": 250,
            "organic_search": third,
            "events": third,
            "sales:meeting": third,
            "display": 0,
        }
    )
    m = result.models[0]
    assert m.marketing_value == pytest.approx(750 + 2 * third)
    assert m.sales_value == pytest.approx(250 + third)
    # D3 had no touch before it was won: counted apart, never spread over others
    assert (result.deals, result.conversions, result.value) == (3, 2, 1500)
    assert (result.unattributed_deals, result.unattributed_value) == (1, 200)
    assert result.non_converting == 2  # E and F
    assert result.touches == 7 + 2  # D1 4, D2 3 (the note and the touch after the close excluded)


def test_w_shaped_uses_the_mql_touch_and_full_path_the_deal_creation(crm):
    result = run(models=("w_shaped", "full_path"))
    w, full = (values(m) for m in result.models)
    # D1: first paid_search 30 %, MQL at social 30 %, last call 30 %, email the rest 10 %.
    # D2: three touches and no known MQL -> a third each.
    third = 500 / 3
    assert w == pytest.approx(
        {
            "paid_search": 300,
            "social": 300,
            "sales:call": 300,
            "email": 100,
            "organic_search": third,
            "events": third,
            "sales:meeting": third,
            "display": 0,
        }
    )
    # Full path, D1: first 22.5, lead (social) 22.5, opportunity = the call (last touch before
    # the deal was created on the 10th) 22.5 + close (last touch) 22.5, email the 10.
    # D2: lead unknown (no 4th touch to stand in); opportunity and close are both the meeting:
    # organic 22.5, meeting 45, events 10, out of 77.5.
    assert full["paid_search"] == pytest.approx(225)
    assert full["social"] == pytest.approx(225)
    assert full["email"] == pytest.approx(100)
    assert full["sales:call"] == pytest.approx(450)
    assert full["organic_search"] == pytest.approx(500 * 22.5 / 77.5)
    assert full["sales:meeting"] == pytest.approx(500 * 45 / 77.5)
    assert full["events"] == pytest.approx(500 * 10 / 77.5)


def test_time_decay_in_days_before_the_close(crm):
    result = run(models=("time_decay",), half_life_days=7)
    got = values(result.models[0])
    # D1 closed on the 20th: touches 18, 15, 12 and 11 days before.
    w = [2 ** (-18 / 7), 2 ** (-15 / 7), 2 ** (-12 / 7), 2 ** (-11 / 7)]
    assert got["paid_search"] == pytest.approx(1000 * w[0] / sum(w))
    assert got["sales:call"] == pytest.approx(1000 * w[3] / sum(w))
    # D2 closed on the 15th: 12, 11 and 4 days before.
    v = [2 ** (-12 / 7), 2 ** (-11 / 7), 2 ** (-4 / 7)]
    assert got["sales:meeting"] == pytest.approx(500 * v[2] / sum(v))
    assert result.models[0].method == "half-life 7 days"


def test_without_sales_activities(crm):
    result = run(models=("last",), include_sales=False)
    # D1's last touch is now email, D2's events; no sales channel at all.
    assert values(result.models[0]) == pytest.approx(
        {
            "email": 1000,
            "events": 500,
            "paid_search": 0,
            "social": 0,
            "organic_search": 0,
            "display": 0,
        }
    )
    assert result.models[0].sales_value == 0


def test_pipeline_counts_deals_created_in_the_period(crm):
    result = run(basis="pipeline", models=("first",))
    # D1 (1000) first touch paid_search; D2 (500) organic_search; D4 (lost, 300) paid_search;
    # D3 (200) has no touch. Only E is a non-converting journey (F has a deal).
    assert values(result.models[0])["paid_search"] == pytest.approx(1300)
    assert values(result.models[0])["organic_search"] == pytest.approx(500)
    assert (result.deals, result.deals_value, result.unattributed_value) == (4, 2000, 200)
    assert result.non_converting == 1


def test_by_campaign(crm):
    result = run(models=("first",), group_by="campaign")
    assert values(result.models[0]) == pytest.approx(
        {
            "Spring search": 1000,
            "(no campaign)": 500,  # B's organic search touch
            "March webinar": 0,
            "sales:call": 0,
            "sales:meeting": 0,
        }
    )


RULE_MODELS = (
    "first",
    "last",
    "linear",
    "u_shaped",
    "w_shaped",
    "full_path",
    "time_decay",
    "j_shaped",
    "inverse_j",
)


@pytest.mark.parametrize("basis", ["won", "pipeline"])
def test_skipping_the_counts_gives_the_same_credits(crm, basis):
    """The dashboard skips counting non-converting journeys: every rule model credits the
    same, and a channel only a non-converting journey touched (display) still shows at 0."""
    counted = run(models=RULE_MODELS, basis=basis)
    quick = run(models=RULE_MODELS, basis=basis, counts=False)
    assert (quick.non_converting, quick.touches) == (None, None)
    assert counted.non_converting is not None and counted.touches is not None
    assert quick.channels == counted.channels and "display" in quick.channels
    assert (quick.conversions, quick.value) == (counted.conversions, counted.value)
    for fast, full in zip(quick.models, counted.models, strict=True):
        assert values(fast) == pytest.approx(values(full))


def test_markov_and_shapley_keep_the_totals(crm):
    result = run(models=("markov", "shapley"))
    for m in result.models:
        assert m.value == pytest.approx(1500)
        assert m.conversions == pytest.approx(2)
    markov = values(result.models[0])
    # Display only appears on a journey that never converted: no credit.
    assert markov["display"] == 0


def test_a_period_without_deals(crm):
    result = AttributionRunner(
        AttributionInput(date(2024, 1, 1), date(2024, 1, 31), models=("linear",))
    ).run()
    assert (result.deals, result.models, result.conversions) == (0, [], 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date_to": date(2025, 2, 1)}, "date_to"),
        ({"basis": "lost"}, "basis"),
        ({"group_by": "owner"}, "group_by"),
        ({"half_life_days": 0}, "half_life"),
        ({"models": ("magic",)}, "model"),
    ],
)
def test_bad_input_is_refused(db, change, field):
    with pytest.raises(ValidationFailed) as caught:
        AttributionRunner(AttributionInput(**{**MARCH, **change}))
    assert [p.field for p in caught.value.problems] == [field]


# --- paths file -------------------------------------------------------------------------


def test_paths_file_reader():
    j = parse_paths(HEADER + "a > b > a;2;10.5;1\n  c ;0;0;4\n")
    assert j.channels == ("a", "b", "c")
    assert j.touches.tolist() == [0, 1, 0, 2]
    assert j.offsets.tolist() == [0, 3, 4]
    assert j.conversions.tolist() == [2, 0]
    assert j.value.tolist() == [10.5, 0]
    assert j.nulls.tolist() == [1, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty"),
        ("path;conversions\n", "Line 1 must be the header"),
        (HEADER, "no paths"),
        (HEADER + "a;1;2\n", "line 2: expected 4 columns separated by ';', found 3"),
        (HEADER + "a;1;2;3\nb;one;2;3\n", "line 3: total_conversions is not a number: 'one'"),
        (HEADER + "a;1;-2;3\n", "line 2: total_conversion_value may not be negative: -2"),
        (HEADER + "a;1;2;nan\n", "line 2: total_null must be a finite number"),
        (HEADER + "a;1;2e300;0\n", "line 2: total_conversion_value is too large"),
        (HEADER + " ;1;2;3\n", "line 2: the path has no channel"),
        (HEADER + "a >  > b;1;2;3\n", "line 2: the path has an empty channel"),
    ],
)
def test_paths_file_errors(text, message):
    with pytest.raises(PathsFileError) as caught:
        parse_paths(text)
    assert message in str(caught.value)


# --- command ------------------------------------------------------------------------------


def test_command_on_a_paths_file(tmp_path, capsys):
    path = tmp_path / "paths.csv"
    path.write_text(HEADER + "a > b;1;10;0\nb;1;4;2\n")
    call_command("attribution", paths=str(path), model="first,linear", format="json")
    data = json.loads(capsys.readouterr().out)
    first, linear = data["models"]
    assert {c["key"]: c["value"] for c in first["credits"]} == {"a": 10, "b": 4}
    assert {c["key"]: c["value"] for c in linear["credits"]} == {"a": 5, "b": 9}
    assert data["non_converting"] == 2

    call_command("attribution", paths=str(path), model="last", format="csv")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model,key,side,conversions,value")
    assert lines[1:] == ["last,b,marketing,2.0,14.0,1.0,,,", "last,a,marketing,0.0,0.0,0.0,,,"]

    call_command("attribution", paths=str(path), model="markov", format="table")
    assert "Markov (removal effect)  [exact absorbing chain]" in capsys.readouterr().out


def test_command_exit_codes(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "a;x;1;1\n")
    with pytest.raises(CommandError) as caught:
        call_command("attribution", paths=str(bad))
    assert caught.value.returncode == 1
    assert "line 2: total_conversions is not a number" in str(caught.value)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CommandError) as caught:
        call_command("attribution", paths=str(empty))
    assert caught.value.returncode == 2
    with pytest.raises(CommandError) as caught:
        call_command("attribution", paths=str(tmp_path / "missing.csv"))
    assert caught.value.returncode == 2 and "Cannot read" in str(caught.value)
    with pytest.raises(CommandError) as caught:
        call_command("attribution", paths=str(bad), model="magic")
    assert caught.value.returncode == 2


def test_command_on_the_crm(crm, capsys):
    call_command(
        "attribution", date_from="2025-03-01", date_to="2025-03-31", model="first", format="json"
    )
    data = json.loads(capsys.readouterr().out)
    assert {c["key"]: c["value"] for c in data["models"][0]["credits"]}["paid_search"] == 1000
    assert data["unattributed_deals"] == 1
    with pytest.raises(CommandError) as caught:
        call_command("attribution", date_from="2025-03-31", date_to="2025-03-01")
    assert caught.value.returncode == 2


# --- API ----------------------------------------------------------------------------------


@pytest.fixture
def reader(marketer):
    return Api(token_for(marketer, ["read"]))


def test_api_attribution_of_the_crm(crm, reader):
    response = reader.get(
        "/attribution",
        {"date_from": "2025-03-01", "date_to": "2025-03-31", "model": "linear,markov"},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert [m["model"] for m in data["models"]] == ["linear", "markov"]
    linear = {c["key"]: c["value"] for c in data["models"][0]["credits"]}
    assert linear["sales:call"] == pytest.approx(250)
    assert data["models"][1]["conversion_probability"] is not None
    assert data["input"]["basis"] == "won"

    bad = reader.get("/attribution", {"date_from": "2025-03-31", "date_to": "2025-03-01"})
    assert bad.status_code == 422
    assert bad.json()["error"]["problems"][0]["field"] == "date_to"


def test_api_needs_a_token_with_read_scope(crm, marketer):
    nobody = Api()
    assert (
        nobody.get("/attribution", {"date_from": "2025-03-01", "date_to": "2025-03-31"}).status_code
        == 401
    )
    ingest_only = Api(token_for(marketer, ["ingest"]))
    assert (
        ingest_only.get(
            "/attribution", {"date_from": "2025-03-01", "date_to": "2025-03-31"}
        ).status_code
        == 403
    )


def test_api_paths_as_csv_and_json(db, reader):
    csv_text = HEADER + "a > b;1;10;0\nb;1;4;2\n"
    response = reader.client.post(
        "/api/v1/attribution/paths?model=first",
        csv_text,
        content_type="text/csv",
        headers=reader.headers,
    )
    assert response.status_code == 200, response.content
    first = response.json()["models"][0]
    assert {c["key"]: c["value"] for c in first["credits"]} == {"a": 10, "b": 4}

    response = reader.post(
        "/attribution/paths?model=shapley",
        {
            "paths": [
                {"path": ["a", "b"], "conversions": 1, "value": 10},
                {"path": ["b"], "nulls": 2},
            ]
        },
    )
    assert response.status_code == 200, response.content
    shapley = response.json()["models"][0]
    assert {c["key"]: c["value"] for c in shapley["credits"]} == {"a": 5, "b": 5}


def test_api_paths_errors(db, reader):
    response = reader.client.post(
        "/api/v1/attribution/paths",
        HEADER + "a;1;2;3\nb;-1;2;3\n",
        content_type="text/csv",
        headers=reader.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["problems"] == [
        {"field": "line 3", "message": "total_conversions may not be negative: -1", "value": None}
    ]
    response = reader.post("/attribution/paths", {"paths": [{"path": []}]})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "body.paths.0"
    # A path must be a list of names and counts must be JSON numbers
    response = reader.post(
        "/attribution/paths",
        {"paths": [{"path": ["a"]}, {"path": "a > b"}, {"path": ["c"], "conversions": "1"}]},
    )
    assert [(p["field"], p["message"]) for p in response.json()["error"]["problems"]] == [
        ("body.paths.1", "path must be a list of channel names (not empty, without '>')"),
        ("body.paths.2", "conversions must be a number"),
    ]
    response = reader.post("/attribution/paths", {"rows": []})
    assert response.status_code == 422
    response = reader.client.post(
        "/api/v1/attribution/paths", "", content_type="text/csv", headers=reader.headers
    )
    assert response.status_code == 422
    assert "empty" in response.json()["error"]["message"]


# --- page ---------------------------------------------------------------------------------


def test_page_compares_all_models(crm, marketer):
    client = Client()
    client.force_login(marketer)
    query = {
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "basis": "won",
        "model": "all",
        "group_by": "channel",
        "include_sales": "on",
        "half_life": "7",
    }
    response = client.get("/reports/attribution/", query)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<rect class="bar"') == 11 * 7
    assert "Markov (removal effect)" in html and "Shapley value" in html
    assert "1 deal worth 200.00 had no touch before it converted" in html

    exported = client.get("/reports/attribution/", {**query, "model": "linear", "export": "csv"})
    assert exported["Content-Disposition"] == 'attachment; filename="attribution.csv"'
    assert "linear,sales:call,sales,0.25,250.0" in exported.content.decode()
    as_json = client.get("/reports/attribution/", {**query, "export": "json"})
    assert len(json.loads(as_json.content)["models"]) == 11


def test_page_shows_errors_and_needs_sign_in(crm, rep):
    client = Client()
    assert client.get("/reports/attribution/").status_code == 302
    client.force_login(rep)
    assert client.get("/reports/attribution/").status_code == 200  # any signed-in user
    response = client.get(
        "/reports/attribution/",
        {"date_from": "2025-03-31", "date_to": "2025-03-01", "model": "linear"},
    )
    assert response.status_code == 422
    assert "must not be before date_from" in response.content.decode()


def test_real_paths_file_through_the_command(capsys):
    data = Path(__file__).resolve().parents[5] / "shared" / "data" / "channelattribution-pathdata"
    if not (data / "Data.csv").exists():
        pytest.skip(f"the ChannelAttribution example data is not at {data}")
    call_command("attribution", paths=str(data / "Data.csv"), model="all", format="json")
    result = json.loads(capsys.readouterr().out)
    assert result["conversions"] == 19785
    assert result["value"] == pytest.approx(74802.97, abs=0.01)
    for model in result["models"]:
        assert model["conversions"] == pytest.approx(19785)
