"""Pages of the insights area: dashboard, claim check, goals, scorecards (`web` namespace)."""

from django.urls import path

from smarketing.web.views import insights

urlpatterns = [
    path("dashboard/", insights.dashboard, name="dashboard"),
    path("insights/claims/", insights.claims, name="claims"),
    path("insights/goals/", insights.goals, name="goals"),
    path("insights/goals/<int:pk>/edit/", insights.goal_edit, name="goal_edit"),
    path("insights/goals/<int:pk>/delete/", insights.goal_delete, name="goal_delete"),
    path("insights/scorecards/<str:side>/", insights.scorecards, name="scorecard"),
]
