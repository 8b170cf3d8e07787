from django.urls import path

from leadrelay.scoring import views

app_name = "scoring"
urlpatterns = [
    path("scoring/", views.config, name="config"),
    path("scoring/draft/", views.draft_create, name="draft_create"),
    path("scoring/rulesets/<int:ruleset_id>/", views.ruleset_detail, name="ruleset_detail"),
    path("scoring/rulesets/<int:ruleset_id>/settings/", views.ruleset_settings, name="ruleset_settings"),
    path("scoring/rulesets/<int:ruleset_id>/discard/", views.draft_discard, name="draft_discard"),
    path("scoring/rulesets/<int:ruleset_id>/fit/new/", views.fit_rule_edit, name="fit_rule_create"),
    path("scoring/rulesets/<int:ruleset_id>/fit/<int:rule_id>/", views.fit_rule_edit, name="fit_rule_edit"),
    path("scoring/rulesets/<int:ruleset_id>/fit/<int:rule_id>/delete/", views.fit_rule_delete, name="fit_rule_delete"),
    path("scoring/rulesets/<int:ruleset_id>/behaviour/new/", views.behaviour_rule_edit, name="behaviour_rule_create"),
    path("scoring/rulesets/<int:ruleset_id>/behaviour/<int:rule_id>/", views.behaviour_rule_edit,
         name="behaviour_rule_edit"),
    path("scoring/rulesets/<int:ruleset_id>/behaviour/<int:rule_id>/delete/", views.behaviour_rule_delete,
         name="behaviour_rule_delete"),
    path("scoring/rulesets/<int:ruleset_id>/simulate/", views.ruleset_simulate, name="ruleset_simulate"),
    path("scoring/rulesets/<int:ruleset_id>/apply/", views.ruleset_apply, name="ruleset_apply"),
    path("scoring/jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("scoring/assignment/", views.assignment, name="assignment"),
    path("scoring/assignment/reps/<int:user_id>/capacity/", views.rep_capacity, name="rep_capacity"),
    path("scoring/assignment/territories/new/", views.territory_create, name="territory_create"),
    path("scoring/assignment/territories/<int:rule_id>/delete/", views.territory_delete, name="territory_delete"),
]
