"""The team charter: the default text, versioned edits by admins, both languages, the history with diffs."""

import pytest
from django.urls import reverse

from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.org.charter import charter_diff, charter_page_edit
from leadrelay.org.models import CharterPage, CharterVersion, Role

MISSION_JA = "1社でも多くの見込客の成功を支援すること"
MISSION_EN = "help as many prospective companies as possible succeed"


def _content(page):
    v = page.current
    return {name: getattr(v, name) for name in
            ("title_en", "title_ja", "summary_en", "summary_ja", "body_en", "body_ja")}


def _mission():
    return CharterPage.objects.get(kind=CharterPage.Kind.MISSION)


@pytest.mark.django_db
def test_fresh_install_has_the_mission_and_a_page_per_role_in_both_languages():
    """Migrations load the default charter: the seed's mission and one page for each of the six roles."""
    mission = _mission()
    assert MISSION_JA in mission.current.summary_ja
    assert MISSION_EN in mission.current.summary_en
    roles = set(CharterPage.objects.filter(kind=CharterPage.Kind.ROLE).values_list("role", flat=True))
    assert roles == set(Role.values)
    for page in CharterPage.objects.select_related("current"):
        assert page.current.number == 1
        for name, value in _content(page).items():
            assert value.strip(), f"{page} {name} is empty"
        if page.kind == CharterPage.Kind.ROLE:
            assert len(page.current.body_en.splitlines()) >= 3  # responsibilities, one per line


def test_every_edit_is_a_new_version_with_who_and_when(users):
    """An admin's edit writes version n+1 with the editor and time, and the page points at it."""
    page = _mission()
    content = _content(page)
    first = charter_page_edit(actor=users["admin"], page=page, note="Sharper wording",
                              **{**content, "body_en": content["body_en"] + "\nWe answer every inquiry within a day."})
    second = charter_page_edit(actor=users["admin"], page=page, note="Japanese too",
                               **{**_content(CharterPage.objects.get(pk=page.pk)),
                                  "body_ja": content["body_ja"] + "\nお問い合わせには1日以内に対応します。"})
    page.refresh_from_db()
    assert (first.number, second.number) == (2, 3)
    assert page.current == second
    assert second.edited_by == users["admin"] and second.edited_at is not None
    assert list(page.versions.order_by("number").values_list("number", flat=True)) == [1, 2, 3]
    # Old versions are kept unchanged.
    assert CharterVersion.objects.get(page=page, number=1).body_en == content["body_en"]


def test_non_admins_cannot_edit_the_charter(users):
    """Every role except admin is refused, and nothing is written."""
    page = _mission()
    content = _content(page)
    for role in ("marketing", "is_rep", "is_manager", "fs_rep", "fs_manager"):
        with pytest.raises(PermissionDenied):
            charter_page_edit(actor=users[role], page=page, note="", **{**content, "title_en": "Changed"})
    assert page.versions.count() == 1


def test_unchanged_content_is_refused_with_a_clear_message(users):
    """Saving the same text again (even with a note or extra spaces) does not make a version."""
    page = _mission()
    content = _content(page)
    with pytest.raises(InvalidInput) as caught:
        charter_page_edit(actor=users["admin"], page=page, note="no-op",
                          **{**content, "title_en": f"  {content['title_en']} "})
    assert "Nothing changed" in caught.value.message
    assert page.versions.count() == 1


def test_required_fields_and_one_line_descriptions_are_validated(users):
    """Titles and one-line descriptions are required in both languages, and stay on one line."""
    page = _mission()
    content = _content(page)
    with pytest.raises(InvalidInput) as caught:
        charter_page_edit(actor=users["admin"], page=page, note="",
                          **{**content, "title_ja": "", "summary_en": "two\nlines", "summary_ja": "x" * 301})
    assert set(caught.value.fields) == {"title_ja", "summary_en", "summary_ja"}


def test_an_edit_based_on_an_old_version_is_refused(users):
    """Two admins editing at once: the second save, based on a stale version, is a conflict."""
    page = _mission()
    content = _content(page)
    charter_page_edit(actor=users["admin"], page=page, note="", base_version=1, **{**content, "title_en": "Mission A"})
    with pytest.raises(Conflict):
        charter_page_edit(actor=users["admin"], page=page, note="", base_version=1,
                          **{**content, "title_en": "Mission B"})


def test_diff_lists_added_and_removed_lines_of_changed_fields_only(users):
    page = CharterPage.objects.get(kind=CharterPage.Kind.ROLE, role=Role.IS_REP)
    old = page.current
    lines = old.body_en.splitlines()
    new_body = "\n".join([lines[0] + " Always.", *lines[1:], "Share what you learn in the weekly meeting."])
    new = charter_page_edit(actor=users["admin"], page=page, note="", **{**_content(page), "body_en": new_body})
    diff = charter_diff(old, new)
    assert [d.field for d in diff] == ["body_en"]
    ops = diff[0].lines
    assert ("del", lines[0]) in ops
    assert ("add", lines[0] + " Always.") in ops
    assert ("add", "Share what you learn in the weekly meeting.") in ops
    assert ("same", lines[1]) in ops


# Views -----------------------------------------------------------------------------------------------


def test_charter_index_shows_the_mission_in_the_members_language(client, users):
    """A Japanese-speaking member reads the Japanese mission; an English-speaking one the English."""
    rep = users["is_rep"]
    rep.language = "ja"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    body = client.get(reverse("org:charter")).content.decode()
    assert MISSION_JA in body
    assert "インサイドセールス担当" in body
    assert MISSION_EN not in body

    fs = users["fs_rep"]
    fs.language = "en"
    fs.save(update_fields=["language"])
    client.force_login(fs)
    body = client.get(reverse("org:charter")).content.decode()
    assert MISSION_EN in body
    assert "Field-sales rep" in body
    assert MISSION_JA not in body


def test_every_member_sees_role_pages_but_only_admins_the_edit_link(client, users):
    client.force_login(users["fs_rep"])
    response = client.get(reverse("org:charter_page", args=["is_manager"]))
    assert response.status_code == 200
    assert "Approve or reject each handoff request" in response.content.decode()
    assert reverse("org:charter_edit", args=["is_manager"]) not in response.content.decode()
    assert client.get(reverse("org:charter_edit", args=["is_manager"])).status_code == 403
    assert client.get(reverse("org:charter_page", args=["nobody"])).status_code == 404

    client.force_login(users["admin"])
    response = client.get(reverse("org:charter_page", args=["is_manager"]))
    assert reverse("org:charter_edit", args=["is_manager"]) in response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(reverse("org:charter"))
    assert response.status_code == 302 and reverse("org:login") in response["Location"]


def test_admin_edits_through_the_form_and_the_history_shows_who_when_what(client, users):
    """The edit form saves a new version; the history page lists it with the editor, the note and the diff."""
    admin = users["admin"]
    admin.first_name, admin.last_name = "Aiko", "Admin"
    admin.save()
    client.force_login(admin)
    url = reverse("org:charter_edit", args=["fs_rep"])
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data["body_en"] += "\nWrite the <b>lost</b> reason on the same day."
    data["note"] = "Lost reasons the same day"
    response = client.post(url, data)
    assert response.status_code == 302
    page = CharterPage.objects.get(role="fs_rep")
    assert page.current.number == 2

    history = client.get(reverse("org:charter_history", args=["fs_rep"])).content.decode()
    assert "Aiko Admin" in history
    assert "Lost reasons the same day" in history
    assert "Version 2" in history and "Version 1" in history
    # The added line is shown as an addition and escaped, never rendered as HTML.
    assert 'class="diff-add">+ Write the &lt;b&gt;lost&lt;/b&gt; reason on the same day.</span>' in history


def test_the_form_shows_errors_inline_for_unchanged_and_invalid_input(client, users):
    client.force_login(users["admin"])
    url = reverse("org:charter_edit", args=["mission"])
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Nothing changed" in response.content.decode()
    response = client.post(url, {**data, "title_ja": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["title_ja"]
    assert _mission().versions.count() == 1


def test_the_charter_renders_in_japanese_chrome(client, users):
    """Headings and labels of the charter pages are translated."""
    admin = users["admin"]
    admin.language = "ja"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    body = client.get(reverse("org:charter")).content.decode()
    assert "チーム憲章" in body
    assert "役割と責任" in body
    body = client.get(reverse("org:charter_history", args=["mission"])).content.decode()
    assert "変更履歴" in body
