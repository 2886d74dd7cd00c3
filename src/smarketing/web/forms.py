"""The web forms: they parse what a person typed into the shapes the actions take.

Business rules (allowed stage moves, unique emails, typed custom properties…) are
checked by the actions, not here; a form only knows about input types, so the same
rule gives the same message in the UI, the API and the CLI.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smarketing.core.choices import Capability, Role, TokenScope
from smarketing.core.errors import IllegalTransition
from smarketing.core.models import User
from smarketing.crm.actions import transition_kind
from smarketing.crm.choices import (
    OPEN_DEAL_STAGES,
    ActivityKind,
    Channel,
    DealStage,
    Direction,
    LeadStatus,
    ObjectType,
    Outcome,
    PropertyType,
    Seniority,
    Stage,
)
from smarketing.crm.models import Campaign, Contact, Deal, PropertyDefinition

PROPERTY_PREFIX = "prop__"
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


def active_users():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "email")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.email


# --- custom properties ------------------------------------------------------------------


def property_field(defn: PropertyDefinition) -> forms.Field:
    """A form field for one custom property; values are validated by the property registry."""
    common = {"label": defn.label, "required": False, "help_text": defn.description}
    if defn.type == PropertyType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if defn.type == PropertyType.NUMBER:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if defn.type == PropertyType.BOOL:
        choices = [("", "—"), ("true", _("Yes")), ("false", _("No"))]
        return forms.ChoiceField(choices=choices, **common)
    if defn.type == PropertyType.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—"), *[(c, c) for c in defn.choices or []]], **common
        )
    return forms.CharField(max_length=2000, **common)


def property_initial(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


class PropertyFieldsMixin:
    """Adds one field per custom property defined for `object_type`."""

    fields: dict[str, forms.Field]
    initial: dict[str, Any]
    cleaned_data: dict[str, Any]

    def add_property_fields(self, object_type: str, current: dict[str, Any] | None) -> None:
        self.property_names: list[str] = []
        for defn in PropertyDefinition.objects.filter(object_type=object_type).order_by("label"):
            key = PROPERTY_PREFIX + defn.name
            self.fields[key] = property_field(defn)
            self.initial[key] = property_initial((current or {}).get(defn.name))
            self.property_names.append(defn.name)

    def property_values(self, *, keep_blank: bool) -> dict[str, Any]:
        """Values to store; a blank value clears the property when `keep_blank` (editing)."""
        values = {}
        for name in self.property_names:
            raw = self.cleaned_data.get(PROPERTY_PREFIX + name, "")
            if raw not in ("", None):
                values[name] = raw
            elif keep_blank:
                values[name] = None
        return values

    def property_bound_fields(self) -> list[forms.BoundField]:
        return [self[PROPERTY_PREFIX + name] for name in self.property_names]  # type: ignore[index]


# --- contacts ----------------------------------------------------------------------------


# The contact's fields that the form shows and saves as they are (company and owner are resolved).
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "external_id",
    "job_title",
    "seniority",
    "phone",
    "country",
    "original_source",
    "source_detail",
    "first_campaign",
    "lead_status",
)


class ContactForm(PropertyFieldsMixin, forms.Form):
    """Create or edit a contact. Stage and owner changes have their own forms (they are history)."""

    first_name = forms.CharField(label=_("First name"), max_length=120, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=120, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    external_id = forms.CharField(
        label=_("External id"),
        max_length=120,
        required=False,
        help_text=_("The record's id in another system; needed when there is no email."),
    )
    job_title = forms.CharField(label=_("Job title"), max_length=200, required=False)
    seniority = forms.ChoiceField(
        label=_("Seniority"), choices=blank("—") + Seniority.choices, required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    country = forms.CharField(label=_("Country"), max_length=64, required=False)
    company = forms.CharField(
        label=_("Company"),
        max_length=200,
        required=False,
        help_text=_("Type a company name; a new company is created when none matches."),
        widget=forms.TextInput(attrs={"list": "company-options", "autocomplete": "off"}),
    )
    original_source = forms.ChoiceField(
        label=_("Original source"), choices=blank("—") + Channel.choices, required=False
    )
    source_detail = forms.CharField(label=_("Source detail"), max_length=200, required=False)
    first_campaign = forms.ModelChoiceField(
        label=_("First campaign"), queryset=Campaign.objects.order_by("name"), required=False
    )
    lead_status = forms.ChoiceField(
        label=_("Lead status"), choices=blank("—") + LeadStatus.choices, required=False
    )

    def __init__(self, *args: Any, contact: Contact | None = None, user: User, **kwargs: Any):
        if contact is not None:
            kwargs.setdefault("initial", {})
            kwargs["initial"].update(
                {
                    name: getattr(contact, name)
                    for name in CONTACT_FIELDS
                    if name != "first_campaign"
                }
            )
            kwargs["initial"]["company"] = contact.company.name if contact.company else ""
            # The id, so that showing the form does not load the campaign.
            kwargs["initial"]["first_campaign"] = contact.first_campaign_id
        super().__init__(*args, **kwargs)
        self.contact = contact
        # Suggest existing companies while typing (fills the form's datalist).
        self.fields["company"].widget.attrs.update(
            {
                "hx-get": reverse("web:company_options"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#company-options",
                "hx-swap": "innerHTML",
            }
        )
        if contact is None:
            self.fields["stage"] = forms.ChoiceField(
                label=_("Lifecycle stage"),
                choices=[(s.value, s.label) for s in Stage if s != Stage.DISQUALIFIED],
                initial=Stage.LEAD,
            )
        if contact is None or user.can(Capability.REASSIGN):
            self.fields["owner"] = UserChoiceField(
                label=_("Owner"), queryset=active_users(), required=False, empty_label=_("Nobody")
            )
            self.initial["owner"] = contact.owner_id if contact else user.pk
        self.add_property_fields(ObjectType.CONTACT, contact.properties if contact else None)

    def contact_data(self) -> dict[str, Any]:
        """The fields for `do_create_contact` / `do_update_contact` (company is resolved by the view)."""
        data = {name: self.cleaned_data[name] for name in CONTACT_FIELDS}
        if "owner" in self.fields:
            data["owner"] = self.cleaned_data.get("owner")
        data["properties"] = self.property_values(keep_blank=self.contact is not None)
        return data


def allowed_stage_moves(current: str) -> list[tuple[str, str]]:
    """(stage, kind) for every stage a contact at `current` may move to; kind is forward/recycle/disqualify."""
    moves = []
    for stage in Stage:
        try:
            moves.append((stage.value, transition_kind(current, stage.value)))
        except IllegalTransition:
            continue
    return moves


class StageForm(forms.Form):
    """Move a contact's lifecycle stage; only allowed targets are offered."""

    target = forms.ChoiceField(label=_("Move to"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        help_text=_("Required to recycle to Lead or to disqualify."),
    )

    def __init__(self, *args: Any, contact: Contact, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = []
        for stage, kind in allowed_stage_moves(contact.lifecycle_stage):
            label = Stage(stage).label
            if kind == "recycle":
                label = _("%(stage)s (recycle, reason required)") % {"stage": label}
            elif kind == "disqualify":
                label = _("%(stage)s (reason required)") % {"stage": label}
            choices.append((stage, label))
        self.fields["target"].choices = choices


class OwnerForm(forms.Form):
    owner = UserChoiceField(
        label=_("New owner"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def __init__(self, *args: Any, contact: Contact, **kwargs: Any):
        kwargs.setdefault("initial", {"owner": contact.owner_id})
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_users()


class ActivityForm(forms.Form):
    """Log a call, email, meeting, LinkedIn message or note."""

    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=blank("—") + Outcome.choices, required=False
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=DATETIME_INPUT, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["occurred_at"] = timezone.localtime().replace(second=0, microsecond=0)


# --- deals -------------------------------------------------------------------------------


class DealForm(forms.Form):
    name = forms.CharField(label=_("Deal name"), max_length=200, required=False)
    amount = forms.CharField(
        label=_("Amount"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="USD", required=False)
    stage = forms.ChoiceField(
        label=_("Pipeline stage"),
        choices=[(s.value, s.label) for s in OPEN_DEAL_STAGES],
        initial=DealStage.QUALIFICATION,
    )
    owner = UserChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Me")
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_users()


class DealEditForm(PropertyFieldsMixin, forms.Form):
    name = forms.CharField(label=_("Deal name"), max_length=200, required=False)
    amount = forms.CharField(
        label=_("Amount"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    owner = UserChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )

    def __init__(self, *args: Any, deal: Deal, **kwargs: Any):
        kwargs.setdefault(
            "initial",
            {
                "name": deal.name,
                "amount": deal.amount,
                "currency": deal.currency,
                "owner": deal.owner_id,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_users()
        self.add_property_fields(ObjectType.DEAL, deal.properties)


class DealMoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("Move to"))
    reason = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args: Any, deal: Deal, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [
            (s.value, s.label) for s in OPEN_DEAL_STAGES if s != deal.stage
        ]


class DealCloseForm(forms.Form):
    """Won or lost: the two submit buttons send `outcome`; a lost deal needs a reason."""

    outcome = forms.ChoiceField(choices=[("won", _("Won")), ("lost", _("Lost"))])
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


# --- companies and campaigns -------------------------------------------------------------


class CompanyForm(PropertyFieldsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    domain = forms.CharField(label=_("Domain"), max_length=200, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=120, required=False)
    employee_count = forms.CharField(
        label=_("Employees"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    annual_revenue = forms.CharField(
        label=_("Annual revenue"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    country = forms.CharField(label=_("Country"), max_length=64, required=False)
    owner = UserChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )
    external_id = forms.CharField(label=_("External id"), max_length=120, required=False)

    FIELDS = (
        "name",
        "domain",
        "industry",
        "employee_count",
        "annual_revenue",
        "country",
        "owner",
        "external_id",
    )

    def __init__(self, *args: Any, company: Any = None, **kwargs: Any):
        if company is not None:
            kwargs.setdefault("initial", {})
            kwargs["initial"].update(
                {name: getattr(company, name) for name in self.FIELDS if name != "owner"}
            )
            kwargs["initial"]["owner"] = company.owner_id
        super().__init__(*args, **kwargs)
        self.company = company
        self.fields["owner"].queryset = active_users()
        self.add_property_fields(ObjectType.COMPANY, company.properties if company else None)

    def company_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.FIELDS}
        data["properties"] = self.property_values(keep_blank=self.company is not None)
        return data


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    cost = forms.CharField(
        label=_("Cost"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="USD", required=False)
    starts_on = forms.DateField(label=_("Starts on"), required=False, widget=DATE_INPUT)
    ends_on = forms.DateField(label=_("Ends on"), required=False, widget=DATE_INPUT)
    utm_source = forms.CharField(label=_("UTM source"), max_length=120, required=False)
    utm_medium = forms.CharField(label=_("UTM medium"), max_length=120, required=False)
    utm_campaign = forms.CharField(label=_("UTM campaign"), max_length=120, required=False)
    utm_term = forms.CharField(label=_("UTM term"), max_length=120, required=False)
    utm_content = forms.CharField(label=_("UTM content"), max_length=120, required=False)

    def __init__(self, *args: Any, campaign: Campaign | None = None, **kwargs: Any):
        if campaign is not None:
            kwargs.setdefault(
                "initial", {name: getattr(campaign, name) for name in self.base_fields}
            )
        super().__init__(*args, **kwargs)


# --- settings ------------------------------------------------------------------------------


class PropertyDefinitionForm(forms.Form):
    object_type = forms.ChoiceField(label=_("Record type"), choices=ObjectType.choices)
    name = forms.CharField(
        label=_("Key"),
        max_length=64,
        required=False,
        help_text=_("Used in imports and the API: lower-case letters, digits and _."),
    )
    label = forms.CharField(label=_("Label"), max_length=120, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=PropertyType.choices)
    choices = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a choice property: one option per line."),
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def option_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["choices"].splitlines() if line.strip()]


class UserCreateForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.SALES_REP)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("At least 8 characters. The person can change it later."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Browser default")), *settings.LANGUAGES],
        required=False,
    )


class UserRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    user = UserChoiceField(label=_("Acts as"), queryset=User.objects.none())
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=TokenScope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=DATE_INPUT)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = active_users()


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)


# --- list filters --------------------------------------------------------------------------
# Filter fields are plain text: the selectors validate the values and say what is wrong.


class ContactFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, email or company")}
        ),
    )
    stage = forms.CharField(label=_("Stage"), required=False, widget=forms.Select)
    owner = forms.CharField(label=_("Owner"), required=False, widget=forms.Select)
    source = forms.CharField(label=_("Original source"), required=False, widget=forms.Select)
    campaign = forms.CharField(label=_("Campaign"), required=False, widget=forms.Select)
    created_from = forms.CharField(label=_("Created from"), required=False, widget=DATE_INPUT)
    created_to = forms.CharField(label=_("Created before"), required=False, widget=DATE_INPUT)
    company = forms.CharField(required=False, widget=forms.HiddenInput)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["stage"].widget.choices = blank(_("Any stage")) + Stage.choices
        users = [(str(u.pk), u.get_full_name() or u.email) for u in active_users()]
        self.fields["owner"].widget.choices = [
            ("", _("Anyone")),
            ("none", _("Unowned")),
            *users,
        ]
        self.fields["source"].widget.choices = blank(_("Any source")) + Channel.choices
        campaigns = Campaign.objects.order_by("name").values_list("pk", "name")
        self.fields["campaign"].widget.choices = blank(_("Any campaign")) + [
            (str(pk), name) for pk, name in campaigns
        ]


class DealFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Deal or company name")}),
    )
    stage = forms.CharField(label=_("Stage"), required=False, widget=forms.Select)
    owner = forms.CharField(label=_("Owner"), required=False, widget=forms.Select)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["stage"].widget.choices = [
            ("", _("Any stage")),
            ("open", _("All open")),
            *DealStage.choices,
        ]
        users = [(str(u.pk), u.get_full_name() or u.email) for u in active_users()]
        self.fields["owner"].widget.choices = [("", _("Anyone")), ("none", _("Unowned")), *users]


class CompanyFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or domain")}),
    )


# --- import ----------------------------------------------------------------------------------

IMPORT_KINDS = [
    ("contacts", _("Contacts")),
    ("companies", _("Companies")),
    ("deals", _("Deals")),
    ("touches", _("Marketing touches")),
    ("activities", _("Sales activities")),
]


class ImportForm(forms.Form):
    """Upload a CSV file; the importer reads, maps and validates it."""

    file = forms.FileField(label=_("CSV file"))
    kind = forms.ChoiceField(label=_("The rows are"), choices=IMPORT_KINDS)
    preset = forms.ChoiceField(label=_("Column preset"), required=False)
    mapping = forms.FileField(
        label=_("Mapping file"),
        required=False,
        help_text=_("Optional YAML or JSON file naming which column feeds which field."),
    )
    mode = forms.ChoiceField(
        label=_("What to do"),
        choices=[
            ("dry_run", _("Check only (dry run): validate every row, write nothing")),
            ("import", _("Import")),
        ],
        initial="dry_run",
        widget=forms.RadioSelect,
    )
    on_error = forms.ChoiceField(
        label=_("Rows with errors"),
        choices=[
            ("skip", _("Skip them and import the good rows")),
            ("abort", _("Import nothing if any row has an error")),
        ],
        initial="skip",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, presets: dict[str, Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = [("", _("None: match columns by their names"))] + [
            (name, f"{name} ({', '.join(preset.kinds)})") for name, preset in presets.items()
        ]


# --- shared definitions and scoring -------------------------------------------------------

BACKTEST_MONTHS = [(3, _("Last 3 months")), (6, _("Last 6 months")), (12, _("Last 12 months"))]
YAML_WIDGET = {"rows": 26, "spellcheck": "false", "autocomplete": "off", "class": "code-input"}


class BacktestMonthsField(forms.TypedChoiceField):
    def __init__(self, **kwargs: Any):
        super().__init__(
            label=_("History to replay"),
            choices=BACKTEST_MONTHS,
            coerce=int,
            initial=6,
            **kwargs,
        )


class ProposalForm(forms.Form):
    """A proposed change to one definition: its full text as YAML and why it changes.

    The text is parsed and validated by the definitions actions, which list every problem.
    """

    body = forms.CharField(
        label=_("Definition (YAML)"),
        widget=forms.Textarea(attrs=YAML_WIDGET),
        strip=False,
        required=False,
    )
    reason = forms.CharField(
        label=_("Why it changes"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Both heads read this before approving; it stays in the history."),
    )
    effective_at = forms.DateTimeField(
        label=_("Takes effect at"),
        widget=DATETIME_INPUT,
        required=False,
        help_text=_("Leave empty to take effect as soon as both heads approve."),
    )
    months = BacktestMonthsField(required=False)


class RejectForm(forms.Form):
    comment = forms.CharField(
        label=_("Why it is rejected"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class DefinitionsImportForm(forms.Form):
    file = forms.FileField(
        label=_("Definitions file (YAML)"),
        help_text=_(
            "The format of the export: kinds (icp, scoring, stages, sla) at the top level."
        ),
    )
    reason = forms.CharField(
        label=_("Why they change"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    effective_at = forms.DateTimeField(
        label=_("Takes effect at"),
        widget=DATETIME_INPUT,
        required=False,
        help_text=_("Leave empty to take effect as soon as both heads approve."),
    )


class BacktestForm(forms.Form):
    scoring = forms.CharField(
        label=_("Draft scoring rules (YAML)"),
        widget=forms.Textarea(attrs=YAML_WIDGET),
        strip=False,
        required=False,
        help_text=_("Leave empty to replay only the rules in force."),
    )
    stages = forms.CharField(
        label=_("Draft MQL criteria (YAML, optional)"),
        widget=forms.Textarea(attrs={**YAML_WIDGET, "rows": 6}),
        strip=False,
        required=False,
        help_text=_("Leave empty to use the stage criteria in force."),
    )
    months = BacktestMonthsField(required=False)


class HotLeadsForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Order by"),
        choices=[("score", _("Highest score")), ("rising", _("Fastest rising (7 days)"))],
        required=False,
    )
