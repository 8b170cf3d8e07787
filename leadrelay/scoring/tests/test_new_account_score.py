import pytest
from leadrelay.leads import services
from leadrelay.leads.models import Account

@pytest.mark.django_db
def test_a_new_account_gets_its_company_score_at_once(django_capture_on_commit_callbacks):
    """Creating an account (UI, form, import) computes its company score without waiting for a lead."""
    with django_capture_on_commit_callbacks(execute=True):
        account = services.account_create(actor=None, name="SaaS KK", industry="IT", business_model="subscription",
                                          employees=300, domains=["saas.example.jp"])
    assert Account.objects.get(pk=account.pk).company_score > 0
