"""The app's pages, in the `web` namespace."""

from django.urls import include, path

from smarketing.web.views import (
    admin_pages,
    auth,
    backtests,
    campaigns,
    companies,
    contacts,
    deals,
    definitions,
    home,
    imports,
    scoring,
)

app_name = "web"

urlpatterns = [
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("language/", auth.set_language, name="set_language"),
    path("", home.home, name="home"),
    # Contacts
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/timeline/", contacts.contact_timeline_more, name="contact_timeline"),
    path(
        "contacts/<int:pk>/activities/", contacts.contact_log_activity, name="contact_log_activity"
    ),
    path("contacts/<int:pk>/stage/", contacts.contact_stage, name="contact_stage"),
    path("contacts/<int:pk>/owner/", contacts.contact_owner, name="contact_owner"),
    path("contacts/<int:pk>/deals/", contacts.contact_deal_create, name="contact_deal_create"),
    path(
        "contacts/<int:pk>/deals/<int:deal_pk>/close/",
        contacts.contact_deal_close,
        name="contact_deal_close",
    ),
    # Companies
    path("companies/", companies.company_list, name="companies"),
    path("companies/new/", companies.company_create, name="company_create"),
    path("companies/options/", companies.company_options, name="company_options"),
    path("companies/<int:pk>/", companies.company_detail, name="company"),
    path("companies/<int:pk>/edit/", companies.company_edit, name="company_edit"),
    # Deals
    path("deals/", deals.deal_list, name="deals"),
    path("deals/<int:pk>/", deals.deal_detail, name="deal"),
    path("deals/<int:pk>/edit/", deals.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/move/", deals.deal_move, name="deal_move"),
    path("deals/<int:pk>/close/", deals.deal_close, name="deal_close"),
    # Campaigns
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/new/", campaigns.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/edit/", campaigns.campaign_edit, name="campaign_edit"),
    # Import
    path("import/", imports.import_page, name="import"),
    # Shared definitions: the playbook, versions, proposals and approvals
    path("playbook/", definitions.playbook, name="playbook"),
    path("definitions/", definitions.definition_index, name="definitions"),
    path("definitions/export/", definitions.export, name="definitions_export"),
    path("definitions/import/", definitions.import_definitions, name="definitions_import"),
    path("definitions/<str:kind>/", definitions.version_list, name="definition_versions"),
    path("definitions/<str:kind>/propose/", definitions.propose, name="definition_propose"),
    path("definitions/<str:kind>/preview/", definitions.preview, name="definition_preview"),
    path(
        "definitions/<str:kind>/v<int:number>/",
        definitions.version_detail,
        name="definition_version",
    ),
    path(
        "definitions/<str:kind>/v<int:number>/approve/",
        definitions.version_approve,
        name="definition_approve",
    ),
    path(
        "definitions/<str:kind>/v<int:number>/reject/",
        definitions.version_reject,
        name="definition_reject",
    ),
    path(
        "definitions/<str:kind>/v<int:number>/withdraw/",
        definitions.version_withdraw,
        name="definition_withdraw",
    ),
    # Scoring
    path("scoring/backtest/", backtests.backtest_page, name="scoring_backtest"),
    path("leads/hot/", scoring.hot_leads, name="hot_leads"),
    # Hand-off, SLA, notifications and reports live in their own URL maps.
    path("", include("smarketing.web.routes.handoff")),
    path("", include("smarketing.web.routes.sla")),
    path("", include("smarketing.web.routes.notifications")),
    path("", include("smarketing.web.routes.reports")),
    path("", include("smarketing.web.routes.attribution")),
    path("", include("smarketing.web.routes.insights")),
    # Settings
    path("settings/", home.settings_index, name="settings"),
    path("settings/properties/", admin_pages.property_list, name="properties"),
    path("settings/properties/new/", admin_pages.property_create, name="property_create"),
    path("settings/users/", admin_pages.user_list, name="users"),
    path("settings/users/new/", admin_pages.user_create, name="user_create"),
    path("settings/users/<int:pk>/role/", admin_pages.user_role, name="user_role"),
    path("settings/users/<int:pk>/active/", admin_pages.user_active, name="user_active"),
    path("settings/tokens/", admin_pages.token_list, name="tokens"),
    path("settings/tokens/new/", admin_pages.token_create, name="token_create"),
    path("settings/tokens/<int:pk>/revoke/", admin_pages.token_revoke, name="token_revoke"),
]
