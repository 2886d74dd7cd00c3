"""The playbook, the definitions' version pages, the editor with its preview, approvals, YAML export and import."""

from datetime import timedelta

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from smarketing.core.choices import Role
from smarketing.core.testing import make_user
from smarketing.definitions.actions import (
    do_approve,
    do_propose,
    do_reject,
    install_defaults,
    to_yaml,
)
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.models import DefinitionVersion
from smarketing.web.tests.conftest import HTMX, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults():
    return {v.kind: v for v in install_defaults()}


@pytest.fixture
def mm(marketing_manager):
    return signed_in(marketing_manager)


@pytest.fixture
def sm(sales_manager):
    return signed_in(sales_manager)


def scoring_with(points_for_demo: int) -> dict:
    body = default_bodies()["scoring"]
    body = yaml.safe_load(yaml.safe_dump(body))
    body["engagement"]["rules"][0]["points"] = points_for_demo
    return body


def proposed_scoring(author, points=50, reason="Demo requests convert better"):
    return do_propose("scoring", scoring_with(points), reason=reason, actor=author)


# --- playbook ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", [Role.SALES_REP, Role.MARKETING, Role.SALES_MANAGER, Role.MARKETING_MANAGER]
)
def test_playbook_is_readable_by_every_role(defaults, role):
    client = signed_in(make_user(role))
    response = client.get(reverse("web:playbook"))
    assert response.status_code == 200
    html = response.content.decode()
    # The glossary, the MQL criteria in words, the ICP, the scoring table, the matrix, the SLA.
    assert "Sales accepted lead — a rep accepted the MQL." in html
    assert "a total score of at least 60" in html
    assert "a fit grade of B or better" in html
    assert "at least 15 engagement points" in html
    assert "Industries" in html and "Software, Financial services" in html
    assert "Company size (employees) between 50 and 5,000" in html
    assert "Requested a demo" in html and "Once only" in html
    assert "Every time, up to 30 points a week" in html
    assert "lose half their value every 30 days" in html
    assert html.count('class="heat-') >= 16  # A1…D4
    assert "First touch within 4 working hours" in html
    assert "Version 1, changed on" in html
    assert "Starting playbook shipped with Smarketing" in html
    assert reverse("web:definition_versions", args=["scoring"]) in html
    assert 'href="/playbook/"' in html  # in the navigation


def test_playbook_before_anything_is_defined(rep_client):
    response = rep_client.get(reverse("web:playbook"))
    assert response.status_code == 200
    assert response.content.decode().count("Not defined yet.") == 4


def test_playbook_lists_changes_awaiting_approval(defaults, marketing_manager, rep_client):
    proposed_scoring(marketing_manager)
    html = rep_client.get(reverse("web:playbook")).content.decode()
    assert "Changes awaiting approval" in html
    assert reverse("web:definition_version", args=["scoring", 2]) in html
    # A rep can read but not propose.
    assert reverse("web:definition_propose", args=["scoring"]) not in html


def test_playbook_in_spanish(defaults, rep):
    rep.language = "es"
    rep.save(update_fields=["language"])
    client = signed_in(rep)
    html = client.get(reverse("web:playbook"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "<h1>Manual</h1>" in html
    assert "Leads calientes" in html  # the navigation
    assert "una puntuación total de al menos 60" in html
    # What users wrote stays as written.
    assert "Requested a demo" in html


# --- versions and the version page ----------------------------------------------------------


def test_version_list_shows_status_author_reason_and_approvals(
    defaults, marketing_manager, sales_manager, rep_client
):
    version = proposed_scoring(marketing_manager)
    do_approve(version, actor=marketing_manager)
    html = rep_client.get(reverse("web:definition_versions", args=["scoring"])).content.decode()
    assert "status-pending" in html and "status-active" in html
    assert "Demo requests convert better" in html
    assert marketing_manager.get_full_name() in html
    assert 'id="rescore-slot"' in html


def test_unknown_kind_is_404(rep_client):
    assert rep_client.get("/definitions/pricing/").status_code == 404
    assert rep_client.get("/definitions/scoring/v99/").status_code == 404


def test_version_page_shows_the_diff_and_the_rule_changes(defaults, marketing_manager, rep_client):
    proposed_scoring(marketing_manager, points=55)
    response = rep_client.get(reverse("web:definition_version", args=["scoring", 2]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="diff-del">-    points: 40' in html
    assert 'class="diff-add">+    points: 55' in html
    assert "Differences from version 1" in html
    assert 'class="badge change change-changed"' in html
    assert "Requested a demo" in html
    assert "<del>40</del> → <ins>55</ins>" in html
    # A rep sees no decision buttons.
    assert 'id="approve"' not in html and 'id="reject"' not in html


def test_decision_buttons_follow_the_role(defaults, marketing_manager, sales_manager, admin_user):
    version = proposed_scoring(marketing_manager)
    url = reverse("web:definition_version", args=["scoring", version.number])
    mm_html = signed_in(marketing_manager).get(url).content.decode()
    assert 'id="approve"' in mm_html and 'id="reject"' in mm_html and 'id="withdraw"' in mm_html
    sm_html = signed_in(sales_manager).get(url).content.decode()
    assert 'id="approve"' in sm_html and 'id="withdraw"' not in sm_html
    admin_html = signed_in(admin_user).get(url).content.decode()
    assert 'id="withdraw"' in admin_html and 'id="approve"' not in admin_html
    marketer_html = signed_in(make_user(Role.MARKETING)).get(url).content.decode()
    assert 'id="approve"' not in marketer_html and 'id="withdraw"' not in marketer_html
    do_approve(version, actor=marketing_manager)
    mm_html = signed_in(marketing_manager).get(url).content.decode()
    assert 'id="approve"' not in mm_html
    assert "Your side has approved" in mm_html


def test_both_heads_approve_through_the_pages(defaults, marketing_manager, mm, sm):
    version = proposed_scoring(marketing_manager)
    approve = reverse("web:definition_approve", args=["scoring", version.number])
    response = sm.post(approve)
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == "pending" and version.sales_approved_at is not None
    response = mm.post(approve, follow=True)
    assert "Version 2 is now in force." in response.content.decode()
    version.refresh_from_db()
    assert version.status == "active"
    assert DefinitionVersion.objects.get(kind="scoring", number=1).status == "superseded"
    html = mm.get(reverse("web:playbook")).content.decode()
    assert "Version 2, changed on" in html


def test_approval_with_a_future_effective_time(defaults, marketing_manager, mm, sm):
    later = timezone.now() + timedelta(days=3)
    version = do_propose(
        "scoring",
        scoring_with(45),
        reason="Next month",
        actor=marketing_manager,
        effective_at=later,
    )
    approve = reverse("web:definition_approve", args=["scoring", version.number])
    sm.post(approve)
    html = mm.post(approve, follow=True).content.decode()
    assert "takes effect on" in html
    version.refresh_from_db()
    assert version.status == "approved"


def test_wrong_roles_are_refused_server_side(defaults, marketing_manager, rep_client):
    version = proposed_scoring(marketing_manager)
    marketer = signed_in(make_user(Role.MARKETING))
    for client in (rep_client, marketer):
        for action in ("approve", "reject", "withdraw"):
            url = reverse(f"web:definition_{action}", args=["scoring", version.number])
            response = client.post(url, {"comment": "no"})
            assert response.status_code == 403, action
    version.refresh_from_db()
    assert version.status == "pending" and version.sales_approved_at is None
    # Reps cannot propose, import or preview.
    assert rep_client.get(reverse("web:definition_propose", args=["scoring"])).status_code == 403
    assert rep_client.post(reverse("web:definition_propose", args=["scoring"])).status_code == 403
    assert rep_client.get(reverse("web:definitions_import")).status_code == 403
    assert rep_client.post(reverse("web:definition_preview", args=["scoring"])).status_code == 403
    assert rep_client.get(reverse("web:scoring_backtest")).status_code == 403


def test_approving_twice_or_a_closed_version_is_explained(defaults, marketing_manager, mm, sm):
    version = proposed_scoring(marketing_manager)
    approve = reverse("web:definition_approve", args=["scoring", version.number])
    mm.post(approve)
    html = mm.post(approve, follow=True).content.decode()
    assert "already has the marketing approval" in html
    do_reject(version, comment="Too generous", actor=signed_in_user(sm))
    html = sm.post(approve, follow=True).content.decode()
    assert "only pending changes can be approved" in html


def signed_in_user(client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_reject_needs_a_comment_and_records_it(defaults, marketing_manager, sm):
    version = proposed_scoring(marketing_manager)
    reject = reverse("web:definition_reject", args=["scoring", version.number])
    response = sm.post(reject, {"comment": "  "})
    assert response.status_code == 422
    assert "Say why the change is rejected." in response.content.decode()
    version.refresh_from_db()
    assert version.status == "pending"
    response = sm.post(reject, {"comment": "We would flood the reps"}, follow=True)
    html = response.content.decode()
    assert "Version 2 rejected." in html
    assert "We would flood the reps" in html
    version.refresh_from_db()
    assert version.status == "rejected"


def test_author_withdraws(defaults, marketing_manager, mm):
    version = proposed_scoring(marketing_manager)
    response = mm.post(reverse("web:definition_withdraw", args=["scoring", version.number]))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == "withdrawn"


# --- the editor ------------------------------------------------------------------------------


def test_editor_starts_from_the_version_in_force(defaults, mm):
    response = mm.get(reverse("web:definition_propose", args=["scoring"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "id_body" in html and "demo_request" in html
    assert 'id="preview-button"' in html
    # The ICP cannot be previewed on history.
    html = mm.get(reverse("web:definition_propose", args=["icp"])).content.decode()
    assert 'id="preview-button"' not in html


def test_editor_starts_from_a_chosen_version(defaults, marketing_manager, mm):
    proposed_scoring(marketing_manager, points=77)
    html = mm.get(reverse("web:definition_propose", args=["scoring"]) + "?from=2").content.decode()
    assert "points: 77" in html


def test_propose_through_the_editor(defaults, marketing_manager, mm):
    text = to_yaml(scoring_with(60))
    response = mm.post(
        reverse("web:definition_propose", args=["scoring"]),
        {"body": text, "reason": "Demo requests are worth more", "effective_at": ""},
    )
    assert response.status_code == 302
    version = DefinitionVersion.objects.get(kind="scoring", number=2)
    assert response["Location"] == reverse("web:definition_version", args=["scoring", 2])
    assert version.status == "pending" and version.author == marketing_manager
    assert version.body["engagement"]["rules"][0]["points"] == 60


def test_editor_lists_every_problem_with_its_path(defaults, mm):
    body = scoring_with(40)
    body["fit"]["rules"][0]["op"] = "roughly"
    body["fit"]["rules"][1]["field"] = "contact.shoe_size"
    body["engagement"]["rules"][1]["match"]["url_regex"] = "(["
    body["fit"]["grades"] = {"A": 20, "B": 40, "C": 10}
    response = mm.post(
        reverse("web:definition_propose", args=["scoring"]), {"body": to_yaml(body), "reason": ""}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "<code>fit.rules[0].op</code>" in html
    assert "<code>fit.rules[1].field</code>" in html
    assert "<code>engagement.rules[1].match</code>" in html or "engagement.rules[1].match" in html
    assert "<code>fit.grades</code>" in html and "bands overlap" in html
    assert "Say why the definition changes." in html
    # What was typed is kept.
    assert "contact.shoe_size" in html
    assert DefinitionVersion.objects.filter(kind="scoring").count() == 1


def test_editor_reports_broken_yaml_with_its_line(defaults, mm):
    response = mm.post(
        reverse("web:definition_propose", args=["icp"]),
        {"body": "industries: [Software\ncountries: US", "reason": "x"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "The text is not valid YAML." in html and "line" in html
    response = mm.post(reverse("web:definition_propose", args=["sla"]), {"body": "", "reason": "x"})
    assert response.status_code == 422
    assert "The definition is empty." in response.content.decode()


def test_scoring_rules_that_make_the_mql_criteria_unreachable_are_refused(defaults, mm):
    meagre = {
        "fit": {
            "rules": [
                {
                    "id": "us",
                    "field": "contact.country",
                    "op": "equals",
                    "value": "US",
                    "points": 10,
                }
            ]
        },
        "engagement": {
            "rules": [{"id": "demo", "match": {"type": "demo_request"}, "points": 5, "once": True}]
        },
    }
    response = mm.post(
        reverse("web:definition_propose", args=["scoring"]),
        {"body": to_yaml(meagre), "reason": "Simpler"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "would make the stage criteria in force unreachable" in html
    assert "<code>stages.mql.min_score</code>" in html
    assert "<code>stages.mql.min_engagement</code>" in html
    assert "<code>stages.mql.min_fit_grade</code>" in html
    assert "can never be reached" in html


# --- preview on history ----------------------------------------------------------------------


def test_preview_answers_htmx_with_the_results_panel(defaults, mm):
    data = {"body": to_yaml(scoring_with(60)), "reason": "", "months": "3"}
    response = mm.post(reverse("web:definition_preview", args=["scoring"]), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="backtest-figures"' in html
    assert "MQLs it would have made" in html
    assert "The last 3 months replayed" in html


def test_preview_without_htmx_shows_the_editor_and_the_results(defaults, mm):
    data = {"body": to_yaml(scoring_with(60)), "reason": "", "months": "6"}
    response = mm.post(reverse("web:definition_preview", args=["scoring"]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'id="backtest-figures"' in html and "id_body" in html


def test_preview_of_an_invalid_draft_lists_the_problems(defaults, mm):
    body = scoring_with(60)
    body["engagement"]["decay"] = {"half_life_days": -3}
    data = {"body": to_yaml(body), "months": "6"}
    response = mm.post(reverse("web:definition_preview", args=["scoring"]), data, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "<code>engagement.decay.half_life_days</code>" in html
    assert 'id="backtest-figures"' not in html


def test_preview_of_stage_criteria(defaults, mm):
    stages = yaml.safe_load(yaml.safe_dump(default_bodies()["stages"]))
    stages["mql"]["min_score"] = 40
    data = {"body": to_yaml(stages), "months": "12"}
    response = mm.post(reverse("web:definition_preview", args=["stages"]), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Draft criteria" in html and "score ≥ 40" in html


def test_icp_cannot_be_previewed(defaults, mm):
    response = mm.post(reverse("web:definition_preview", args=["icp"]), {"body": "a: 1"})
    assert response.status_code == 404


# --- YAML export and import -------------------------------------------------------------------


def test_export_downloads_the_definitions_in_force(defaults, rep_client):
    response = rep_client.get(reverse("web:definitions_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert 'filename="smarketing-definitions.yaml"' in response["Content-Disposition"]
    doc = yaml.safe_load(response.content)
    assert set(doc) == {"icp", "scoring", "stages", "sla"}
    one = rep_client.get(reverse("web:definitions_export") + "?kind=sla")
    assert set(yaml.safe_load(one.content)) == {"sla"}
    assert rep_client.get(reverse("web:definitions_export") + "?kind=nope").status_code == 404


def test_import_proposes_what_differs(defaults, mm):
    doc = {"scoring": scoring_with(70), "sla": default_bodies()["sla"]}
    upload = SimpleUploadedFile("playbook.yaml", yaml.safe_dump(doc).encode(), "application/yaml")
    response = mm.post(
        reverse("web:definitions_import"), {"file": upload, "reason": "Quarterly review"}
    )
    assert response.status_code == 302
    assert list(
        DefinitionVersion.objects.filter(status="pending").values_list("kind", "number")
    ) == [("scoring", 2)]


def test_import_lists_every_problem(defaults, mm):
    scoring = scoring_with(70)
    scoring["fit"]["rules"][0]["op"] = "bogus"
    doc = {"scoring": scoring, "sla": {"sales": {"attempts": 0}}}
    upload = SimpleUploadedFile("playbook.yaml", yaml.safe_dump(doc).encode())
    response = mm.post(reverse("web:definitions_import"), {"file": upload, "reason": "x"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "<code>scoring.fit.rules[0].op</code>" in html
    assert "<code>sla.sales.attempts</code>" in html
    assert DefinitionVersion.objects.filter(status="pending").count() == 0
    broken = SimpleUploadedFile("x.yaml", b"scoring: [")
    response = mm.post(reverse("web:definitions_import"), {"file": broken, "reason": "x"})
    assert response.status_code == 422
    assert "not valid YAML" in response.content.decode()
