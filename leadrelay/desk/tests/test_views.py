"""The IS desk pages: queues, two-click logging through HTMX, the manager's rep picker, target accounts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leadrelay.core.testing import AccountFactory
from leadrelay.desk.models import Activity, PlannedTouch
from leadrelay.desk.testing import activity, owned_lead
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import AccountHistory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_queue_shows_the_reps_sections(client, users):
    """New MQLs, Untouched with its age badge, due follow-ups, recycled and nurture appear on the rep's desk."""
    rep = users["is_rep"]
    now = timezone.now()
    mql = owned_lead(rep, last_name="Sato", assigned_at=now - timedelta(days=2))
    recycled = owned_lead(rep, stage=Stage.RECYCLED, last_name="Suzuki")
    nurture = owned_lead(rep, stage=Stage.NURTURE, last_name="Tanaka")
    working = owned_lead(rep, stage=Stage.WORKING, last_name="Ito")
    activity(working, rep, next_follow_up=timezone.localdate() - timedelta(days=1), notes="call back")
    owned_lead(users["is_rep2"], last_name="Colleague")
    client.force_login(rep)
    response = client.get(reverse("desk:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    for lead in (mql, recycled, nurture, working):
        assert lead.last_name in html
    assert "Colleague" not in html
    assert f'id="row-untouched-{mql.pk}"' in html and "bucket-1_3d" in html
    assert f'id="row-follow_ups-{working.pk}"' in html and "overdue" in html
    assert f'id="row-recycled-{recycled.pk}"' in html and f'id="row-nurture-{nurture.pk}"' in html


def test_two_clicks_log_a_call_and_swap_the_row(client, users):
    """Click "Call" (the form), click "Connected" (logged): the row comes back updated, the MQL is working."""
    rep = users["is_rep"]
    lead = owned_lead(rep)
    client.force_login(rep)
    form = client.get(reverse("desk:log", args=[lead.pk]) + "?kind=call&section=mql", **HTMX)
    assert form.status_code == 200
    body = form.content.decode()
    for outcome in ("connected", "no_answer", "voicemail", "wrong_number", "appointment_set"):
        assert f'value="{outcome}"' in body
    follow_up = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = client.post(
        reverse("desk:log", args=[lead.pk]),
        {
            "kind": "call",
            "section": "mql",
            "outcome": "connected",
            "notes": "Wants a demo",
            "next_follow_up": follow_up,
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<tbody id="row-mql-') and "Logged: Call" in html and "Working" in html
    saved = Activity.objects.get(lead=lead)
    assert (saved.outcome, saved.notes, saved.next_follow_up.isoformat()) == ("connected", "Wants a demo", follow_up)
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING


def test_invalid_inline_log_shows_the_error_in_the_form(client, users):
    rep = users["is_rep"]
    lead = owned_lead(rep)
    client.force_login(rep)
    response = client.post(reverse("desk:log", args=[lead.pk]), {"kind": "note", "section": "mql", "notes": ""}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#act-mql-{lead.pk}"
    assert "A note needs some text." in response.content.decode()
    assert not Activity.objects.exists()


def test_log_without_htmx_redirects_back(client, users):
    rep = users["is_rep"]
    lead = owned_lead(rep)
    client.force_login(rep)
    response = client.post(reverse("desk:log", args=[lead.pk]), {"kind": "email", "section": "mql"})
    assert response.status_code == 302
    assert Activity.objects.filter(lead=lead, kind="email").exists()


def test_rep_cannot_open_a_colleagues_lead_form(client, users):
    lead = owned_lead(users["is_rep2"])
    client.force_login(users["is_rep"])
    assert client.get(reverse("desk:log", args=[lead.pk]) + "?kind=call").status_code == 404
    assert client.post(reverse("desk:log", args=[lead.pk]), {"kind": "note", "notes": "x"}).status_code == 404
    assert client.get(reverse("desk:queue") + f"?rep={users['is_rep2'].pk}").status_code == 404


def test_manager_picks_a_rep_of_its_team(client, users):
    """The IS manager sees a rep's queue and the team's Untouched table; an FS rep is not in its picker."""
    manager = users["is_manager"]
    owned_lead(users["is_rep2"], last_name="Nakamura")
    client.force_login(manager)
    response = client.get(reverse("desk:queue") + f"?rep={users['is_rep2'].pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nakamura" in html and "Untouched by rep" in html
    assert client.get(reverse("desk:queue") + f"?rep={users['fs_rep'].pk}").status_code == 404


def test_fs_rep_has_no_desk(client, users):
    client.force_login(users["fs_rep"])
    assert client.get(reverse("desk:queue")).status_code == 403


def test_follow_up_done_quick_action(client, users):
    rep = users["is_rep"]
    lead = owned_lead(rep, stage=Stage.WORKING)
    a = activity(lead, rep, next_follow_up=timezone.localdate())
    client.force_login(rep)
    response = client.post(reverse("desk:follow_up_done", args=[a.pk]), **HTMX)
    assert response.status_code == 200
    a.refresh_from_db()
    assert a.follow_up_done


def test_target_accounts_list_filters_and_edit(client, users):
    """The target list shows tiered accounts only; an IS rep edits tier, owner and IR notes with history."""
    rep = users["is_rep"]
    target = AccountFactory(name="Kanto Robotics", target_tier="A")
    AccountFactory(name="Not A Target", target_tier="")
    AccountFactory(name="Tier C Corp", target_tier="C")
    owned_lead(rep, account=target)
    client.force_login(rep)
    html = client.get(reverse("desk:accounts")).content.decode()
    assert "Kanto Robotics" in html and "Tier C Corp" in html and "Not A Target" not in html
    html = client.get(reverse("desk:accounts") + "?tier=C").content.decode()
    assert "Kanto Robotics" not in html and "Tier C Corp" in html
    response = client.post(
        reverse("desk:account", args=[target.pk]),
        {
            "form": "account",
            "target_tier": "B",
            "owner": rep.pk,
            "research_notes": "FY2025 IR: expanding to Osaka.",
        },
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.target_tier, target.owner, target.research_notes) == ("B", rep, "FY2025 IR: expanding to Osaka.")
    assert AccountHistory.objects.filter(account=target, actor=rep).exists()


def test_plan_and_complete_a_touch(client, users):
    """A planned letter to a person becomes a done touch and that person's activity."""
    rep = users["is_rep"]
    target = AccountFactory(target_tier="A")
    lead = owned_lead(rep, account=target, stage=Stage.WORKING, last_name="Kato")
    client.force_login(rep)
    due = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(
        reverse("desk:account", args=[target.pk]),
        {
            "form": "touch",
            "kind": "letter",
            "due_on": due,
            "lead": lead.pk,
            "notes": "Letter to the CFO about the IR",
        },
    )
    assert response.status_code == 302
    touch = PlannedTouch.objects.get(account=target)
    client.get(reverse("desk:accounts")).content.decode()
    assert client.post(reverse("desk:touch_done", args=[touch.pk])).status_code == 302
    touch.refresh_from_db()
    assert touch.done_at is not None and touch.done_activity.lead == lead and touch.done_activity.kind == "letter"
    page = client.get(reverse("desk:account", args=[target.pk])).content.decode()
    assert "Letter to the CFO" in page and "Kato" in page


def test_planned_touch_form_errors_inline(client, users):
    target = AccountFactory(target_tier="A")
    client.force_login(users["is_rep"])
    response = client.post(reverse("desk:account", args=[target.pk]), {"form": "touch", "kind": "letter"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not PlannedTouch.objects.exists()


def test_marketing_reads_target_accounts_without_editing(client, users):
    target = AccountFactory(target_tier="A", research_notes="Mid-term plan")
    client.force_login(users["marketing"])
    page = client.get(reverse("desk:account", args=[target.pk]))
    assert page.status_code == 200 and "Mid-term plan" in page.content.decode()
    response = client.post(reverse("desk:account", args=[target.pk]), {"form": "account", "target_tier": "C"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.target_tier == "A"


def test_quick_log_on_the_lead_page_panel_swaps_the_panel(client, users):
    """The lead page panel logs in two clicks too and comes back as the panel with the new activity."""
    rep = users["is_rep"]
    lead = owned_lead(rep)
    client.force_login(rep)
    form = client.get(reverse("desk:log", args=[lead.pk]) + "?kind=meeting&section=panel", **HTMX).content.decode()
    assert f'hx-target="#desk-panel-{lead.pk}"' in form
    response = client.post(
        reverse("desk:log", args=[lead.pk]),
        {"kind": "meeting", "section": "panel", "outcome": "appointment_set", "notes": "Onsite"},
        **HTMX,
    )
    html = response.content.decode()
    assert html.startswith(f'<section class="panel desk-panel" id="desk-panel-{lead.pk}">')
    assert "Logged: Meeting" in html and "Appointment set" in html and "Onsite" in html


def test_the_desk_speaks_japanese(client, users):
    rep = users["is_rep"]
    rep.language = "ja"
    rep.save(update_fields=["language"])
    owned_lead(rep)
    client.force_login(rep)
    html = client.get(reverse("desk:queue")).content.decode()
    assert "未着手" in html and "1日未満" in html and "今日まで・期限超過のフォロー" in html


def test_element_ids_have_no_thousand_separators(client, users):
    """Ids of 1,000 and more stay plain digits in element ids and HTMX targets."""
    rep = users["is_rep"]
    lead = owned_lead(rep, id=12345)
    client.force_login(rep)
    html = client.get(reverse("desk:queue")).content.decode()
    assert 'id="row-mql-12345"' in html and 'hx-target="#act-mql-12345"' in html
    form = client.get(reverse("desk:log", args=[lead.pk]) + "?kind=call&section=mql", **HTMX).content.decode()
    assert 'hx-target="#row-mql-12345"' in form


@pytest.mark.django_db
def test_an_uncertified_rep_sees_why_no_live_leads_arrive_on_the_desk_and_home(client, users):
    """The onboarding notice (enablement) shows on the rep's desk and home page until it is certified."""
    from leadrelay.enablement import services as enablement_services
    from leadrelay.enablement.testing import build_small_programme

    small = build_small_programme(actor=users["admin"])
    enablement_services.programme_assign(actor=users["is_manager"], user=users["is_rep"], programme=small.programme)
    client.force_login(users["is_rep"])
    for url in (reverse("desk:queue"), reverse("home")):
        assert "no live leads yet" in client.get(url).content.decode()
    client.force_login(users["is_rep2"])
    assert "no live leads yet" not in client.get(reverse("desk:queue")).content.decode()
