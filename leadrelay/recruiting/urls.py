from django.urls import path

from leadrelay.recruiting import views

app_name = "recruiting"

urlpatterns = [
    path("recruiting/", views.candidates, name="candidates"),
    path("recruiting/candidates/<int:candidate_id>/", views.candidate_detail, name="candidate_detail"),
    path("recruiting/candidates/<int:candidate_id>/edit/", views.candidate_edit, name="candidate_edit"),
    path("recruiting/candidates/<int:candidate_id>/notes/", views.candidate_note, name="candidate_note"),
    path("recruiting/candidates/<int:candidate_id>/scorecard/", views.scorecard, name="scorecard"),
    path("recruiting/competencies/", views.competencies, name="competencies"),
    path("recruiting/competencies/new/", views.competency_create, name="competency_create"),
    path("recruiting/competencies/<int:competency_id>/edit/", views.competency_edit, name="competency_edit"),
    path("recruiting/career-paths/", views.career_paths, name="career_paths"),
]
