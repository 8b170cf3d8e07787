from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import InvalidInput
from leadrelay.org import services, tokens
from leadrelay.org.forms import ApiTokenForm, ProfileForm


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)


@login_required
def profile(request):
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.user_update_profile(user=user, **form.cleaned_data)
            except InvalidInput as error:
                _add_errors(form, error)
            else:
                if user.language:
                    translation.activate(user.language)
                messages.success(request, _("Your profile was saved."))
                response = redirect("org:profile")
                if user.language:
                    response.set_cookie("django_language", user.language, samesite="Lax")
                return response
    else:
        form = ProfileForm(initial={f: getattr(user, f) for f in ProfileForm.base_fields})
    return render(request, "org/profile.html", {"form": form, "api_tokens": tokens.api_tokens_of(user)})


@login_required
def token_create(request):
    form = ApiTokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = tokens.api_token_create(user=request.user, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
    return render(request, "org/token_create.html", {"form": form, "secret": secret})


@login_required
@require_POST
def token_revoke(request, token_id: int):
    tokens.api_token_revoke(user=request.user, token_id=token_id)
    messages.success(request, _("The token was revoked."))
    return redirect("org:profile")
