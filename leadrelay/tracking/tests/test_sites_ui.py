"""Marketing manages sites and forms in the UI and copies their embed codes."""

from __future__ import annotations

import pytest

from leadrelay.tracking.models import Form, Site
from leadrelay.tracking.testing import SiteFactory

pytestmark = pytest.mark.django_db


def test_marketing_creates_a_site_and_a_form(client, users):
    client.force_login(users["marketing"])
    home = client.get("/").content.decode()
    assert "/tracking/sites/" in home  # the nav item
    response = client.post("/tracking/sites/new/", {
        "name": "Corporate", "domains": "https://www.Example.co.jp/\nlocalhost:8123", "consent_mode": "opt_in",
        "honour_dnt": "on", "is_active": "on"})
    site = Site.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tracking/sites/{site.pk}/"
    assert site.domains == ["https://www.example.co.jp", "localhost:8123"]
    page = client.get(f"/tracking/sites/{site.pk}/").content.decode()
    assert f"data-site=&quot;{site.key}&quot;" in page and "data-consent=&quot;opt_in&quot;" in page
    assert "/t.js" in page

    created = client.post(f"/tracking/sites/{site.pk}/forms/new/", {
        "name": "Contact", "language": "ja", "title": "お問い合わせ", "field_name": "required",
        "field_company": "required", "field_phone": "off", "field_message": "optional", "field_consent": "required",
        "is_active": "on"})
    assert created.status_code == 302
    form = Form.objects.get()
    assert form.fields == {"name": "required", "company": "required", "phone": "off", "message": "optional",
                           "consent": "required"}
    page = client.get(f"/tracking/sites/{site.pk}/").content.decode()
    assert f"data-form=&quot;{form.key}&quot;" in page
    assert f"/f/{form.key}/submit" in page
    assert f'/f/{form.key}/&quot;' in page  # the iframe alternative


def test_bad_site_input_shows_field_errors(client, users):
    client.force_login(users["admin"])
    response = client.post("/tracking/sites/new/", {"name": "X", "domains": "not a domain!", "consent_mode": "opt_out"})
    assert response.status_code == 200
    assert "is not a domain name" in response.content.decode()
    assert Site.objects.count() == 0


def test_edit_and_rotate_key(client, users):
    site = SiteFactory()
    old_key = site.key
    client.force_login(users["marketing"])
    client.post(f"/tracking/sites/{site.pk}/edit/", {"name": "Renamed", "domains": "example.co.jp",
                                                    "consent_mode": "none", "keep_full_ip": "on"})
    site.refresh_from_db()
    assert (site.name, site.consent_mode, site.keep_full_ip, site.honour_dnt, site.is_active) == (
        "Renamed", "none", True, False, False)
    client.post(f"/tracking/sites/{site.pk}/rotate-key/")
    site.refresh_from_db()
    assert site.key != old_key


@pytest.mark.parametrize("role", ["is_rep", "is_manager", "fs_rep", "fs_manager"])
def test_other_roles_cannot_manage_sites(client, users, role):
    site = SiteFactory()
    client.force_login(users[role])
    assert "/tracking/sites/" not in client.get("/").content.decode()
    assert client.get("/tracking/sites/").status_code == 403
    assert client.get(f"/tracking/sites/{site.pk}/").status_code == 403
    assert client.post("/tracking/sites/new/", {"name": "X", "domains": "a.co.jp", "consent_mode": "none"}).status_code == 403
    assert Site.objects.count() == 1
