"""Users, roles, API tokens and the audit trail they leave."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from smarketing.core.actions import (
    authenticate_token,
    do_change_user_role,
    do_create_token,
    do_create_user,
    do_revoke_token,
    do_set_user_language,
)
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Capability
from smarketing.core.errors import Conflict, NotAllowed, ValidationFailed
from smarketing.core.models import ApiToken, AuditEntry, User

pytestmark = pytest.mark.django_db


def test_roles_grant_capabilities(rep, sales_manager, marketer, admin_user):
    assert not rep.can(Capability.MANAGE_USERS) and not rep.can(Capability.MANAGE_TOKENS)
    assert rep.can(Capability.EDIT_RECORDS)
    assert sales_manager.can(Capability.REASSIGN) and not sales_manager.can(Capability.MANAGE_USERS)
    assert marketer.can(Capability.MANAGE_CAMPAIGNS) and not marketer.can(Capability.REASSIGN)
    assert all(admin_user.can(c) for c in Capability.values)


def test_a_sales_rep_cannot_manage_users_or_tokens(rep):
    with pytest.raises(NotAllowed):
        do_create_user(email="x@y.io", password="longenough", role="admin", actor=rep)
    with pytest.raises(NotAllowed):
        do_create_token(user=rep, name="mine", scopes=["read"], actor=rep)
    with pytest.raises(NotAllowed):
        do_change_user_role(rep, "admin", actor=rep)
    assert User.objects.count() == 1 and ApiToken.objects.count() == 0


def test_user_creation_validates_and_audits(admin_user):
    with pytest.raises(ValidationFailed) as exc:
        do_create_user(email="bad", password="short", role="ceo", actor=admin_user)
    assert {p.field for p in exc.value.problems} == {"email", "role", "password"}
    user = do_create_user(
        email="New@Corp.io", password="longenough", role="sales_manager", actor=admin_user
    )
    assert user.email == "new@corp.io" and user.check_password("longenough")
    with pytest.raises(Conflict):
        do_create_user(
            email="new@corp.io", password="longenough", role="sales_rep", actor=admin_user
        )
    do_change_user_role(user, "marketing", actor=admin_user)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["user.created", "user.role_changed"]


def test_token_is_stored_hashed_and_authenticates_until_revoked(admin_user, rep):
    token, raw = do_create_token(user=rep, name="forms", scopes=["ingest"], actor=admin_user)
    assert raw.startswith(f"smk_{token.prefix}_")
    assert raw not in token.key_hash and len(token.key_hash) == 64
    assert authenticate_token(raw) == token
    assert authenticate_token(raw + "x") is None
    assert authenticate_token("") is None
    assert token.has_scope("ingest") and not token.has_scope("read")
    do_revoke_token(token, actor=admin_user)
    assert authenticate_token(raw) is None
    assert AuditEntry.objects.filter(action="token.revoked").exists()


def test_expired_token_and_inactive_user_do_not_authenticate(admin_user, rep):
    token, raw = do_create_token(
        user=rep,
        name="t",
        scopes=["read"],
        actor=admin_user,
        expires_at=timezone.now() + timedelta(days=1),
    )
    assert authenticate_token(raw) is not None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_token(raw) is None
    _token2, raw2 = do_create_token(user=rep, name="t2", scopes=["read"], actor=admin_user)
    User.objects.filter(pk=rep.pk).update(is_active=False)
    assert authenticate_token(raw2) is None


def test_token_scopes_are_checked(admin_user, rep):
    with pytest.raises(ValidationFailed):
        do_create_token(user=rep, name="t", scopes=["everything"], actor=admin_user)
    with pytest.raises(ValidationFailed):
        do_create_token(user=rep, name="t", scopes=[], actor=admin_user)
    with pytest.raises(ValidationFailed):
        do_create_token(
            user=rep, name="t", scopes=["admin"], actor=admin_user
        )  # a rep cannot hold admin


def test_language_preference(rep):
    do_set_user_language(rep, "es")
    assert User.objects.get(pk=rep.pk).language == "es"
    with pytest.raises(ValidationFailed):
        do_set_user_language(rep, "klingon")


def test_cli_createuser_and_token(capsys):
    call_command(
        "createuser", "--role", "admin", "--email", "Boss@Corp.io", "--password", "longenough"
    )
    assert User.objects.get(email="boss@corp.io").role == "admin"
    call_command(
        "token", "create", "--user", "boss@corp.io", "--scopes", "ingest,read", "--name", "site"
    )
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    assert authenticate_token(raw).scopes == ["ingest", "read"]
    call_command("token", "list")
    assert "ingest,read\tactive" in capsys.readouterr().out
    prefix = raw.split("_")[1]
    call_command("token", "revoke", prefix)
    assert authenticate_token(raw) is None


def test_cli_errors_are_plain_words_with_exit_codes():
    with pytest.raises(CommandError) as exc:
        call_command("createuser", "--role", "admin", "--email", "nope", "--password", "longenough")
    assert "not a valid email" in str(exc.value) and exc.value.returncode == 2
    with pytest.raises(CommandError) as exc:
        call_command("token", "create", "--user", "ghost@x.io", "--scopes", "read")
    assert "No user with email ghost@x.io" in str(exc.value)


def test_system_actor_acts_with_full_rights():
    user = do_create_user(email="sys@x.io", password=None, role="sales_rep", actor=SYSTEM)
    assert not user.has_usable_password()
