"""Shared definitions over the API: versions, the set in force, diffs, proposals and dual sign-off."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from django.test import Client

from smarketing.api.tests.conftest import Api, error_of, fields_of, token_for
from smarketing.core.choices import Role
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_user
from smarketing.definitions.actions import do_propose, install_defaults
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.models import DefinitionVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults():
    return install_defaults()


@pytest.fixture
def heads(marketing_manager, sales_manager):
    """The marketing head and the sales head, each with a read+write token."""
    return (
        Api(token_for(marketing_manager, ["read", "write"])),
        Api(token_for(sales_manager, ["read", "write"])),
    )


def stricter_stages() -> dict:
    body = copy.deepcopy(default_bodies()["stages"])
    body["mql"]["min_score"] = 70
    return body


def richer_scoring() -> dict:
    body = copy.deepcopy(default_bodies()["scoring"])
    for rule in body["engagement"]["rules"]:
        if rule["id"] == "demo_request":
            rule["points"] = 50
    body["engagement"]["rules"].append(
        {
            "id": "trial",
            "label": "Started a trial",
            "match": {"type": "form_submission", "url": "*/trial*"},
            "points": 30,
        }
    )
    return body


def test_versions_list_filters_and_detail(defaults, heads, marketing_manager):
    marketing, _ = heads
    do_propose("stages", stricter_stages(), reason="Too many weak MQLs", actor=marketing_manager)

    everything = marketing.get("/definitions").json()
    assert everything["count"] == 5
    assert [(v["kind"], v["number"]) for v in everything["items"]][:2] == [
        ("icp", 1),
        ("scoring", 1),
    ]
    stages = marketing.get("/definitions", {"kind": "stages"}).json()
    assert [(v["number"], v["status"]) for v in stages["items"]] == [(2, "pending"), (1, "active")]
    pending = marketing.get("/definitions", {"status": "pending"}).json()
    assert [v["label"] for v in pending["items"]] == ["stages v2"]
    assert "body" not in pending["items"][0]

    detail = marketing.get("/definitions/stages/2").json()
    assert detail["body"]["mql"]["min_score"] == 70
    assert detail["reason"] == "Too many weak MQLs"
    assert detail["author"]["email"] == marketing_manager.email
    assert detail["status"] == "pending" and detail["based_on"] == 1
    assert detail["marketing_approval"] is None and detail["sales_approval"] is None
    assert detail["rejection"] is None and detail["effective_at"] is None

    refused = marketing.get("/definitions", {"kind": "pricing"})
    assert refused.status_code == 422 and fields_of(refused) == {"query.kind"}
    missing = marketing.get("/definitions/stages/9")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


def test_the_active_set_names_every_kind(defaults, heads):
    marketing, _ = heads
    active = marketing.get("/definitions/active").json()
    assert {k: v["label"] for k, v in active.items()} == {
        "icp": "icp v1",
        "scoring": "scoring v1",
        "stages": "stages v1",
        "sla": "sla v1",
    }
    assert active["scoring"]["body"] == json.loads(json.dumps(default_bodies()["scoring"]))


def test_the_active_set_before_any_definition(heads):
    marketing, _ = heads
    assert marketing.get("/definitions/active").json() == {
        "icp": None,
        "scoring": None,
        "stages": None,
        "sla": None,
    }


def test_both_heads_approve_then_it_takes_effect(defaults, heads, marketing_manager, sales_manager):
    marketing, sales = heads
    created = marketing.post(
        "/definitions/stages", {"body": stricter_stages(), "reason": "Too many weak MQLs"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["label"] == "stages v2" and created.json()["status"] == "pending"

    first = marketing.post("/definitions/stages/2/approve")
    assert first.status_code == 200
    assert first.json()["status"] == "pending"
    assert first.json()["marketing_approval"]["by"]["email"] == marketing_manager.email
    again = marketing.post("/definitions/stages/2/approve")
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"

    second = sales.post("/definitions/stages/2/approve")
    assert second.status_code == 200
    version = second.json()
    assert version["status"] == "active" and version["activated_at"]
    assert version["sales_approval"]["by"]["email"] == sales_manager.email
    assert version["activation_summary"]["contacts"] == 0
    assert marketing.get("/definitions/active").json()["stages"]["label"] == "stages v2"
    assert marketing.get("/definitions/stages/1").json()["status"] == "superseded"
    actions = set(
        AuditEntry.objects.filter(object_type="definition").values_list("action", flat=True)
    )
    assert {
        "definition.proposed",
        "definition.approved.marketing",
        "definition.approved.sales",
    } <= actions
    late = sales.post("/definitions/stages/2/approve")
    assert late.status_code == 409 and error_of(late)["code"] == "illegal_transition"


def test_an_approval_by_the_wrong_role_is_refused(defaults, marketing_manager, admin_user):
    do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    for role in (Role.SALES_REP, Role.MARKETING):
        person = Api(token_for(make_user(role), ["read", "write"]))
        refused = person.post("/definitions/stages/2/approve")
        assert refused.status_code == 403
        error = error_of(refused)
        assert error["code"] == "forbidden"
        assert "marketing manager or a sales manager" in error["message"]
    admin = Api(token_for(admin_user, ["admin"]))
    assert admin.post("/definitions/stages/2/approve").status_code == 403
    rep = Api(token_for(make_user(Role.SALES_REP), ["read", "write"]))
    assert (
        rep.post("/definitions/stages", {"body": stricter_stages(), "reason": "x"}).status_code
        == 403
    )
    version = DefinitionVersion.objects.get(kind="stages", number=2)
    assert version.status == "pending" and version.marketing_approved_at is None


def test_scopes_are_checked_before_roles(defaults, marketing_manager):
    do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    reader = Api(token_for(marketing_manager, ["read"]))
    assert reader.get("/definitions/stages/2").status_code == 200
    for path, body in (
        ("/definitions/stages", {"body": stricter_stages(), "reason": "x"}),
        ("/definitions/stages/2/approve", None),
        ("/definitions/stages/2/reject", {"comment": "no"}),
        ("/definitions/stages/2/withdraw", None),
        ("/definitions/import", {"yaml": "stages: {}", "reason": "x"}),
    ):
        refused = reader.post(path, body)
        assert refused.status_code == 403, path
        assert error_of(refused)["code"] == "insufficient_scope"
    ingest = Api(token_for(marketing_manager, ["ingest"]))
    assert error_of(ingest.get("/definitions"))["code"] == "insufficient_scope"
    nobody = Api()
    assert nobody.get("/definitions/active").status_code == 401


def test_a_session_of_a_head_can_propose_and_approve(defaults, marketing_manager):
    client = Client()
    client.force_login(marketing_manager)
    session = Api(client=client)
    assert (
        session.post("/definitions/stages", {"body": stricter_stages(), "reason": "x"}).status_code
        == 201
    )
    assert session.post("/definitions/stages/2/approve").json()["marketing_approval"] is not None


def test_every_problem_is_listed_with_its_path(defaults, heads):
    marketing, _ = heads
    body = copy.deepcopy(default_bodies()["scoring"])
    body["fit"]["rules"][0]["op"] = "resembles"
    body["fit"]["rules"][1]["field"] = "company.shoe_size"
    body["engagement"]["rules"][1]["match"]["url_regex"] = "(["
    del body["engagement"]["rules"][1]["match"]["url"]
    body["fit"]["grades"] = {"A": 20, "B": 40, "C": 10}
    refused = marketing.post("/definitions/scoring", {"body": body, "reason": "try"})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["code"] == "validation_failed"
    assert {
        "body.body.fit.rules[0].op",
        "body.body.fit.rules[1].field",
        "body.body.engagement.rules[1].match.url_regex",
        "body.body.fit.grades",
    } <= fields_of(refused)

    unreachable = stricter_stages()
    unreachable["mql"]["min_engagement"] = -5
    unreachable["mql"]["min_fit_grade"] = "Z"
    refused = marketing.post("/definitions/stages", {"body": unreachable, "reason": ""})
    assert refused.status_code == 422
    # The action stops at the missing reason before looking at the content.
    assert fields_of(refused) == {"body.reason"}
    refused = marketing.post("/definitions/stages", {"body": unreachable, "reason": "harder"})
    assert fields_of(refused) == {"body.body.mql.min_engagement", "body.body.mql.min_fit_grade"}
    assert not DefinitionVersion.objects.filter(status="pending").exists()


def test_a_proposal_may_be_yaml(defaults, heads):
    marketing, _ = heads
    text = yaml.safe_dump(stricter_stages())
    created = marketing.post("/definitions/stages", {"yaml": text, "reason": "As YAML"})
    assert created.status_code == 201, created.content
    assert created.json()["body"]["mql"]["min_score"] == 70
    wrapped = yaml.safe_dump({"stages": {**stricter_stages(), "notes": "wrapped"}})
    created = marketing.post("/definitions/stages", {"yaml": wrapped, "reason": "Under its key"})
    assert created.json()["body"]["notes"] == "wrapped"

    broken = marketing.post("/definitions/stages", {"yaml": "mql: [1,", "reason": "x"})
    assert broken.status_code == 422 and fields_of(broken) == {"body.yaml"}
    assert "line 1" in error_of(broken)["problems"][0]["message"]
    invalid = marketing.post(
        "/definitions/stages", {"yaml": "mql: {min_score: lots}", "reason": "x"}
    )
    assert fields_of(invalid) == {"body.yaml.mql.min_score"}
    both = marketing.post(
        "/definitions/stages", {"yaml": text, "body": stricter_stages(), "reason": "x"}
    )
    assert both.status_code == 422
    neither = marketing.post("/definitions/stages", {"reason": "x"})
    assert neither.status_code == 422
    unknown_kind = marketing.post("/definitions/pricing", {"body": {}, "reason": "x"})
    assert unknown_kind.status_code == 422
    assert DefinitionVersion.objects.filter(kind="stages").count() == 3


def test_future_effective_time_waits_for_the_worker(defaults, heads):
    marketing, sales = heads
    created = marketing.post(
        "/definitions/stages",
        {
            "body": stricter_stages(),
            "reason": "From next month",
            "effective_at": "2999-01-01T00:00:00Z",
        },
    )
    assert created.json()["effective_at"].startswith("2999-01-01")
    marketing.post("/definitions/stages/2/approve")
    approved = sales.post("/definitions/stages/2/approve").json()
    assert approved["status"] == "approved" and approved["activated_at"] is None
    assert marketing.get("/definitions/active").json()["stages"]["number"] == 1


def test_reject_needs_a_comment_and_an_open_change(
    defaults, heads, sales_manager, marketing_manager
):
    _marketing, sales = heads
    do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    blank = sales.post("/definitions/stages/2/reject", {"comment": "  "})
    assert blank.status_code == 422 and fields_of(blank) == {"body.comment"}
    missing = sales.post("/definitions/stages/2/reject", {})
    assert missing.status_code == 422 and fields_of(missing) == {"body.comment"}
    rejected = sales.post(
        "/definitions/stages/2/reject", {"comment": "Reps need volume this quarter"}
    )
    assert rejected.status_code == 200
    version = rejected.json()
    assert version["status"] == "rejected"
    assert version["rejection"]["comment"] == "Reps need volume this quarter"
    assert version["rejection"]["by"]["email"] == sales_manager.email
    assert sales.post("/definitions/stages/1/reject", {"comment": "no"}).status_code == 409
    rep = Api(token_for(make_user(Role.SALES_REP), ["read", "write"]))
    do_propose("stages", stricter_stages(), reason="again", actor=marketing_manager)
    assert (
        error_of(rep.post("/definitions/stages/3/reject", {"comment": "no"}))["code"] == "forbidden"
    )


def test_only_the_author_withdraws(defaults, heads, marketing_manager):
    marketing, sales = heads
    do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    refused = sales.post("/definitions/stages/2/withdraw")
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    withdrawn = marketing.post("/definitions/stages/2/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert marketing.post("/definitions/stages/2/withdraw").status_code == 409
    assert marketing.post("/definitions/stages/8/withdraw").status_code == 404


def test_diff_shows_text_and_rule_changes(defaults, heads, marketing_manager):
    marketing, _ = heads
    do_propose("scoring", richer_scoring(), reason="Trials and demos", actor=marketing_manager)
    diff = marketing.get("/definitions/scoring/2/diff").json()
    assert (diff["old"], diff["new"]) == ("scoring v1", "scoring v2")
    assert diff["text"][:2] == ["--- scoring v1", "+++ scoring v2"]
    assert any(line.startswith("+") and "*/trial*" in line for line in diff["text"])
    assert any(line.startswith("-") and "points: 40" in line for line in diff["text"])
    changes = {c["rule"]: c for c in diff["rule_changes"]}
    assert set(changes) == {"demo_request", "trial"}
    assert changes["trial"]["change"] == "added" and changes["trial"]["before"] is None
    assert (
        changes["demo_request"]["before"]["points"],
        changes["demo_request"]["after"]["points"],
    ) == (40, 50)

    backwards = marketing.get("/definitions/scoring/1/diff", {"against": 2}).json()
    assert (backwards["old"], backwards["new"]) == ("scoring v2", "scoring v1")
    assert {c["rule"]: c["change"] for c in backwards["rule_changes"]}["trial"] == "removed"
    first = marketing.get("/definitions/scoring/1/diff").json()
    assert first["old"] is None and first["text"][0] == "--- (none)"
    assert marketing.get("/definitions/icp/1/diff", {"against": 1}).json()["text"] == []
    assert marketing.get("/definitions/scoring/2/diff", {"against": 7}).status_code == 404


def test_export_and_import_round_trip(defaults, heads):
    marketing, _sales = heads
    exported = marketing.get("/definitions/export")
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/yaml")
    document = yaml.safe_load(exported.content)
    assert set(document) == {"icp", "scoring", "stages", "sla"}
    assert exported.content.decode().startswith("# Smarketing shared definitions: icp v1")
    only = yaml.safe_load(marketing.get("/definitions/export?kind=icp&kind=sla").content)
    assert set(only) == {"icp", "sla"}

    unchanged = marketing.post(
        "/definitions/import", {"yaml": exported.content.decode(), "reason": "no-op"}
    )
    assert unchanged.status_code == 200 and unchanged.json() == {"proposed": []}

    document["stages"]["mql"]["min_score"] = 70
    document["sla"]["sales"]["first_touch_hours"] = 2
    imported = marketing.post(
        "/definitions/import", {"yaml": yaml.safe_dump(document), "reason": "Quarterly review"}
    )
    assert imported.status_code == 201, imported.content
    assert sorted((v["label"], v["status"], v["reason"]) for v in imported.json()["proposed"]) == [
        ("sla v2", "pending", "Quarterly review"),
        ("stages v2", "pending", "Quarterly review"),
    ]


def test_import_refuses_a_bad_document_whole(defaults, heads):
    marketing, _ = heads
    document = {
        "stages": {"mql": {"min_score": 70, "min_fit_grade": "Q"}},
        "sla": {"sales": {"first_touch_hours": 0}},
    }
    refused = marketing.post(
        "/definitions/import", {"yaml": yaml.safe_dump(document), "reason": "x"}
    )
    assert refused.status_code == 422
    assert fields_of(refused) == {
        "body.yaml.stages.mql.min_fit_grade",
        "body.yaml.sla.sales.first_touch_hours",
    }
    # An ICP without the lists the scoring rules in force read (countries…) is refused too.
    document["icp"] = {"industries": ["Software"]}
    refused = marketing.post(
        "/definitions/import", {"yaml": yaml.safe_dump(document), "reason": "x"}
    )
    assert "body.yaml.icp.scoring.fit.rules[2].value_from" in fields_of(refused)
    assert not DefinitionVersion.objects.filter(status="pending").exists()
    wrong_kind = marketing.post("/definitions/import", {"yaml": "pricing: {}", "reason": "x"})
    assert wrong_kind.status_code == 422 and fields_of(wrong_kind) == {"body.yaml"}
    not_yaml = marketing.post("/definitions/import", {"yaml": "stages: [", "reason": "x"})
    assert not_yaml.status_code == 422 and fields_of(not_yaml) == {"body.yaml"}


def test_version_list_query_budget(
    defaults, heads, marketing_manager, django_assert_max_num_queries
):
    marketing, _ = heads
    marketing.get("/definitions")
    for n in range(12):
        version = do_propose("sla", {"notes": f"draft {n}"}, reason="x", actor=marketing_manager)
    version.refresh_from_db()
    with django_assert_max_num_queries(4):  # token, count, page (people joined)
        response = marketing.get("/definitions", {"limit": 200})
    assert response.json()["count"] == 16
