"""Roles and what each may do."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    MARKETING_MANAGER = "marketing_manager", _("Marketing manager")
    SALES_REP = "sales_rep", _("Sales rep")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    ADMIN = "admin", _("Admin")


class Capability(models.TextChoices):
    EDIT_RECORDS = "edit_records", _("Create and edit contacts, companies, deals and activities")
    MANAGE_CAMPAIGNS = "manage_campaigns", _("Manage campaigns")
    MANAGE_PROPERTIES = "manage_properties", _("Manage custom properties")
    MANAGE_USERS = "manage_users", _("Manage users and roles")
    MANAGE_TOKENS = "manage_tokens", _("Manage API tokens")
    DELETE_RECORDS = "delete_records", _("Delete records")
    REASSIGN = "reassign", _("Reassign contacts between reps")
    IMPORT = "import", _("Import data")
    REVIEW_LEADS = "review_leads", _("Accept or reject leads routed to them")
    MANAGE_ROUTING = "manage_routing", _("Manage teams, routing rules and rep capacity")
    WAIVE_SLA = "waive_sla", _("Waive SLA commitments")


_ALL = set(Capability)
ROLE_CAPABILITIES: dict[str, set[str]] = {
    Role.MARKETING: {Capability.EDIT_RECORDS, Capability.MANAGE_CAMPAIGNS, Capability.IMPORT},
    Role.MARKETING_MANAGER: {
        Capability.EDIT_RECORDS,
        Capability.MANAGE_CAMPAIGNS,
        Capability.MANAGE_PROPERTIES,
        Capability.IMPORT,
        Capability.REASSIGN,
        Capability.DELETE_RECORDS,
    },
    Role.SALES_REP: {Capability.EDIT_RECORDS, Capability.REVIEW_LEADS},
    Role.SALES_MANAGER: {
        Capability.EDIT_RECORDS,
        Capability.REVIEW_LEADS,
        Capability.MANAGE_ROUTING,
        Capability.WAIVE_SLA,
        Capability.MANAGE_PROPERTIES,
        Capability.IMPORT,
        Capability.REASSIGN,
        Capability.DELETE_RECORDS,
    },
    Role.ADMIN: _ALL,
}


class TokenScope(models.TextChoices):
    INGEST = "ingest", _("Ingest touches")
    READ = "read", _("Read records")
    WRITE = "write", _("Create and change records")
    ADMIN = "admin", _("Administer users, tokens and settings")
