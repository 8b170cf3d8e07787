"""Factories and helpers shared by every app's tests."""

from __future__ import annotations

import factory
from django.utils import timezone

from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead
from leadrelay.org.models import RoleGrant, Team, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "pw-Secret-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            RoleGrant.objects.create(user=self, role=role)
        self.save()
        self.__dict__.pop("role_set", None)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    function = Team.Function.INSIDE_SALES

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if extracted:
            self.members.set(extracted)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Example Corp {n}")
    normalized_name = factory.LazyAttribute(lambda a: a.name.lower().replace(" ", ""))
    primary_domain = factory.Sequence(lambda n: f"example{n}.co.jp")
    domains = factory.LazyAttribute(lambda a: [a.primary_domain])
    industry = "IT"
    business_model = Account.BusinessModel.SUBSCRIPTION
    employees = 250


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"person{n}@example.co.jp")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    account = factory.SubFactory(AccountFactory)
    stage = Stage.KNOWN
    source = Lead.Source.WEB
    stage_changed_at = factory.LazyFunction(timezone.now)
