"""KPI pages: the manager dashboard, the rep's own page, trends, funnel, targets and exports."""

import pytest
from django.urls import reverse

from leadrelay.desk.testing import activity, owned_lead
from leadrelay.kpi.models import Target

pytestmark = pytest.mark.django_db


def test_manager_sees_each_rep_for_today_week_and_month(client, users):
    owned_lead(users["is_rep"])
    activity(owned_lead(users["is_rep2"], stage="working"), users["is_rep2"])
    client.force_login(users["is_manager"])
    page = client.get(reverse("kpi:dashboard"))
    assert page.status_code == 200
    body = page.content.decode()
    for text in ("Today", "This week", "This month", users["is_rep"].display_name, users["is_rep2"].display_name,
                 "Handoff → opportunity rate", "Opportunities created (KGI)"):
        assert text in body


def test_a_rep_is_sent_to_its_own_dashboard_with_todos(client, users):
    lead = owned_lead(users["is_rep"])
    client.force_login(users["is_rep"])
    assert client.get(reverse("kpi:dashboard")).url == reverse("kpi:me")
    body = client.get(reverse("kpi:me")).content.decode()
    assert lead.display_name in body and users["is_rep2"].display_name not in body


def test_fs_rep_has_no_kpi_dashboard(client, users):
    client.force_login(users["fs_rep"])
    assert client.get(reverse("kpi:me")).status_code == 403


def test_csv_export_has_bom_and_the_same_numbers(client, users):
    activity(owned_lead(users["is_rep"], stage="working"), users["is_rep"])
    client.force_login(users["is_manager"])
    response = client.get(reverse("kpi:dashboard"), {"period": "day", "format": "csv"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    row = next(line for line in content.splitlines() if users["is_rep"].display_name in line)
    assert ",1," in row  # one connect today


def test_trends_and_funnel_render_charts_with_tables_and_exports(client, users):
    client.force_login(users["is_manager"])
    trends = client.get(reverse("kpi:trends"))
    assert trends.status_code == 200 and b"<svg" in trends.content
    funnel = client.get(reverse("kpi:funnel"))
    assert funnel.status_code == 200 and b"<svg" in funnel.content and b"Opportunity" in funnel.content
    assert client.get(reverse("kpi:funnel"), {"format": "xlsx"}).status_code == 200
    assert client.get(reverse("kpi:trends"), {"format": "csv"}).status_code == 200


def test_manager_sets_targets_for_its_team_but_a_rep_cannot(client, users):
    client.force_login(users["is_manager"])
    rep = users["is_rep"]
    response = client.post(reverse("kpi:targets"), {"month": "2026-11-01", f"user:{rep.pk}:connects": "40",
                                                    f"user:{rep.pk}:handoff_to_opportunity_rate": "150"})
    assert response.status_code == 302 or response.status_code == 200
    assert not Target.objects.filter(metric="handoff_to_opportunity_rate").exists()
    assert Target.objects.get(user=rep, metric="connects").value == 40
    client.force_login(rep)
    assert client.get(reverse("kpi:targets")).status_code == 403


def test_bad_custom_period_is_an_error_page(client, users):
    client.force_login(users["is_manager"])
    response = client.get(reverse("kpi:dashboard"), {"period": "custom", "start": "2026-11-10", "end": "2026-11-01"})
    assert response.status_code == 422


def test_dashboard_in_japanese(client, users):
    users["is_manager"].language = "ja"
    users["is_manager"].save(update_fields=["language"])
    client.force_login(users["is_manager"])
    body = client.get(reverse("kpi:dashboard")).content.decode()
    assert "商談化件数" in body
