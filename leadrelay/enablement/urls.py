from django.urls import path

from leadrelay.enablement import views

app_name = "enablement"

urlpatterns = [
    path("enablement/", views.index, name="index"),
    path("enablement/me/", views.my_programme, name="my_programme"),
    path("enablement/assessments/<int:assessment_id>/", views.assessment_take, name="assessment_take"),
    path("enablement/attempts/<int:attempt_id>/", views.attempt_detail, name="attempt_detail"),
    path("enablement/attempts/<int:attempt_id>/grade/", views.attempt_grade, name="attempt_grade"),
    path("enablement/team/", views.team, name="team"),
    path("enablement/team/<int:user_id>/", views.member_progress, name="member_progress"),
    path("enablement/assign/", views.assign, name="assign"),
    path("enablement/reports/", views.reports, name="reports"),
    path("enablement/programmes/", views.programmes, name="programmes"),
    path("enablement/programmes/<int:programme_id>/", views.programme_detail, name="programme_detail"),
    path("enablement/programmes/<int:programme_id>/phases/new/", views.phase_create, name="phase_create"),
    path("enablement/phases/<int:phase_id>/", views.phase_detail, name="phase_detail"),
    path("enablement/phases/<int:phase_id>/delete/", views.phase_delete, name="phase_delete"),
    path("enablement/phases/<int:phase_id>/materials/new/", views.material_create, name="material_create"),
    path("enablement/materials/<int:material_id>/delete/", views.material_delete, name="material_delete"),
    path("enablement/phases/<int:phase_id>/assessments/new/", views.assessment_create, name="assessment_create"),
    path("enablement/assessments/<int:assessment_id>/manage/", views.assessment_manage, name="assessment_manage"),
    path("enablement/assessments/<int:assessment_id>/delete/", views.assessment_delete, name="assessment_delete"),
    path("enablement/assessments/<int:assessment_id>/questions/new/", views.question_create,
         name="question_create"),
    path("enablement/questions/<int:question_id>/delete/", views.question_delete, name="question_delete"),
    path("enablement/assessments/<int:assessment_id>/criteria/new/", views.criterion_create,
         name="criterion_create"),
    path("enablement/criteria/<int:criterion_id>/delete/", views.criterion_delete, name="criterion_delete"),
    path("framework-review/", views.framework_review, name="framework_review"),
]
