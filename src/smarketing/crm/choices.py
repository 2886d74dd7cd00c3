"""The words of the shared CRM: stages, channels, touch and activity kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("Marketing qualified lead")
    SAL = "sal", _("Sales accepted lead")
    SQL = "sql", _("Sales qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    DISQUALIFIED = "disqualified", _("Disqualified")


# The forward order of the funnel; `disqualified` stands outside it.
FUNNEL = [
    Stage.SUBSCRIBER,
    Stage.LEAD,
    Stage.MQL,
    Stage.SAL,
    Stage.SQL,
    Stage.OPPORTUNITY,
    Stage.CUSTOMER,
    Stage.EVANGELIST,
]
STAGE_RANK = {stage.value: rank for rank, stage in enumerate(FUNNEL)}
# Stages from which a contact can be sent back to nurture (`lead`) with a reason.
RECYCLABLE = {Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.DISQUALIFIED}
# Stages from which a contact can be disqualified with a reason.
DISQUALIFIABLE = {Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY}


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    CONNECTED = "connected", _("Connected")
    UNQUALIFIED = "unqualified", _("Unqualified")
    BAD_TIMING = "bad_timing", _("Bad timing")


class Channel(models.TextChoices):
    ORGANIC_SEARCH = "organic_search", _("Organic search")
    PAID_SEARCH = "paid_search", _("Paid search")
    SOCIAL = "social", _("Social")
    EMAIL = "email", _("Email")
    REFERRAL = "referral", _("Referral")
    DISPLAY = "display", _("Display")
    DIRECT = "direct", _("Direct")
    EVENTS = "events", _("Events / webinar")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class TouchType(models.TextChoices):
    PAGE_VIEW = "page_view", _("Page view")
    FORM_SUBMISSION = "form_submission", _("Form submission")
    EMAIL_OPEN = "email_open", _("Email open")
    EMAIL_CLICK = "email_click", _("Email click")
    AD_CLICK = "ad_click", _("Ad click")
    WEBINAR = "webinar", _("Webinar attended")
    CHAT = "chat", _("Chat")
    SOCIAL_ENGAGEMENT = "social_engagement", _("Social engagement")
    CONTENT_DOWNLOAD = "content_download", _("Content download")
    EVENT = "event", _("Event attended")
    DEMO_REQUEST = "demo_request", _("Demo request")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")


# Touches in which a person hands over their details: an unknown person becomes a
# `lead` (not a mere `subscriber`), and a known subscriber is promoted to `lead`.
CONVERSION_TOUCHES = {
    TouchType.FORM_SUBMISSION,
    TouchType.CONTENT_DOWNLOAD,
    TouchType.WEBINAR,
    TouchType.CHAT,
    TouchType.EVENT,
    TouchType.DEMO_REQUEST,
}


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    LINKEDIN = "linkedin", _("LinkedIn")
    NOTE = "note", _("Note")


# Activities that count as an attempt to reach the contact (for the SLA).
CONTACT_ATTEMPT_KINDS = {ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.LINKEDIN}


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class Outcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left voicemail")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    SENT = "sent", _("Sent")
    REPLIED = "replied", _("Replied")
    BOUNCED = "bounced", _("Bounced")
    MEETING_BOOKED = "meeting_booked", _("Meeting booked")
    HELD = "held", _("Held")
    NO_SHOW = "no_show", _("No show")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    NOT_INTERESTED = "not_interested", _("Not interested")


OUTCOMES_BY_KIND: dict[str, set[str]] = {
    ActivityKind.CALL: {
        Outcome.CONNECTED,
        Outcome.NO_ANSWER,
        Outcome.VOICEMAIL,
        Outcome.BUSY,
        Outcome.WRONG_NUMBER,
        Outcome.MEETING_BOOKED,
        Outcome.NOT_INTERESTED,
    },
    ActivityKind.EMAIL: {
        Outcome.SENT,
        Outcome.REPLIED,
        Outcome.BOUNCED,
        Outcome.MEETING_BOOKED,
        Outcome.NOT_INTERESTED,
    },
    ActivityKind.LINKEDIN: {
        Outcome.SENT,
        Outcome.REPLIED,
        Outcome.CONNECTED,
        Outcome.MEETING_BOOKED,
        Outcome.NOT_INTERESTED,
    },
    ActivityKind.MEETING: {
        Outcome.HELD,
        Outcome.NO_SHOW,
        Outcome.RESCHEDULED,
        Outcome.MEETING_BOOKED,
        Outcome.NOT_INTERESTED,
    },
    ActivityKind.NOTE: set(),
}


class Seniority(models.TextChoices):
    C_LEVEL = "c_level", _("C-level")
    VP = "vp", _("VP")
    DIRECTOR = "director", _("Director")
    MANAGER = "manager", _("Manager")
    INDIVIDUAL = "individual", _("Individual contributor")
    OTHER = "other", _("Other")


class DealStage(models.TextChoices):
    QUALIFICATION = "qualification", _("Qualification")
    DISCOVERY = "discovery", _("Discovery")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Closed won")
    LOST = "lost", _("Closed lost")


OPEN_DEAL_STAGES = [
    DealStage.QUALIFICATION,
    DealStage.DISCOVERY,
    DealStage.PROPOSAL,
    DealStage.NEGOTIATION,
]


class PropertyType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOL = "bool", _("Yes/no")
    CHOICE = "choice", _("Choice")


class ObjectType(models.TextChoices):
    CONTACT = "contact", _("Contact")
    COMPANY = "company", _("Company")
    DEAL = "deal", _("Deal")
