from django.urls import path

from leadrelay.sales import views

app_name = "sales"

urlpatterns = [
    path("pipeline/", views.board, name="board"),
    path("opportunities/", views.opportunity_list, name="list"),
    path("opportunities/new/", views.opportunity_create, name="create"),
    path("opportunities/<int:opportunity_id>/", views.opportunity_detail, name="detail"),
    path("opportunities/<int:opportunity_id>/stage/", views.opportunity_stage, name="stage"),
    path("opportunities/<int:opportunity_id>/edit/", views.opportunity_edit, name="edit"),
    path("opportunities/<int:opportunity_id>/note/", views.opportunity_note, name="note"),
    path("opportunities/<int:opportunity_id>/win/", views.opportunity_win, name="win"),
    path("opportunities/<int:opportunity_id>/lose/", views.opportunity_lose, name="lose"),
    path("closed-loop/", views.handed_over, name="handed_over"),
    path("loss-review/", views.loss_review, name="loss_review"),
    path("settings/lost-reasons/", views.lost_reasons, name="lost_reasons"),
    path("leads/<int:lead_id>/left/", views.person_left, name="person_left"),
]
