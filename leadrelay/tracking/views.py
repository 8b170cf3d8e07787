"""Tracking pages: the public edge (/t.js, /collect, embedded forms) and the marketing screens
(sites, forms, webinars, a lead's privacy actions)."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.csp import build_policy
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import InvalidInput, PermissionDenied, RateLimited
from leadrelay.leads.selectors import lead_get_for
from leadrelay.tracking import conf, ingest, selectors, services
from leadrelay.tracking.forms import EraseForm, InquiryFormForm, SiteForm, WebinarForm, WebinarImportForm
from leadrelay.tracking.snippet import snippet

# The public edge ------------------------------------------------------------------------------------------


def snippet_js(request):
    """GET /t.js: the minified snippet, cacheable, loadable from any site."""
    body, etag = snippet()
    if request.META.get("HTTP_IF_NONE_MATCH") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _refusal(status: int, reason: str, detail: str, *, origin: str = "") -> JsonResponse:
    response = JsonResponse({"reason": reason, "detail": detail}, status=status)
    if origin and selectors.origin_known(origin):
        _cors(response, origin)
    return response


def _preflight(request) -> HttpResponse:
    origin = request.META.get("HTTP_ORIGIN", "")
    if not selectors.origin_known(origin):
        return HttpResponse(status=403)
    response = _cors(HttpResponse(status=204), origin)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _read_body(request, cap: int) -> bytes | None:
    """The body, or None when it is larger than `cap` bytes."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > cap:
        return None
    body = request.read(cap + 1)
    return None if len(body) > cap else body


ACCEPTED_TYPES = ("", "application/json", "text/plain")


def _tracking_refused(meta) -> bool:
    return meta.get("HTTP_DNT") == "1" or meta.get("HTTP_SEC_GPC") == "1"


@csrf_exempt
def collect(request):
    """POST /collect: a batch of events from the snippet (JSON; text/plain from sendBeacon).

    202 {"stored", "duplicates"} when accepted; 204 when dropped on purpose (bot, Do Not Track);
    400/403/413/415/429 {"reason", "detail"} when refused, and then nothing is stored.

    The checks that need no database come first (size, JSON, site, origin, consent, bots), so a bad
    request costs no write; the per-IP rate limit is counted in the same transaction as the store.
    """
    if request.method == "OPTIONS":
        return _preflight(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST", "OPTIONS"])
    origin = ingest.request_origin(request.META)
    content_type = request.content_type or ""
    if content_type not in ACCEPTED_TYPES:
        return _refusal(415, "unsupported_media_type", "Send JSON (application/json or text/plain).", origin=origin)
    body = _read_body(request, conf.max_body_bytes())
    if body is None:
        return _refusal(413, "too_large", f"The body is larger than {conf.max_body_bytes()} bytes.", origin=origin)
    now = timezone.now()
    try:
        payload = ingest.parse_collect(body, now=now)
    except ingest.PayloadError as error:
        return _refusal(error.status, error.reason, error.detail, origin=origin)
    site = selectors.site_config_for_key(payload.site_key)
    if site is None:
        return _refusal(400, "unknown_site", "No active site has this key.", origin=origin)
    if not ingest.origin_allowed(origin, list(site.domains)):
        return JsonResponse({"reason": "origin_not_allowed", "detail": "This origin is not one of the site's domains."},
                            status=403)
    if site.honour_dnt and _tracking_refused(request.META):
        return _cors(HttpResponse(status=204), origin)
    if payload.consent is False or (site.consent_mode == "opt_in" and payload.consent is not True):
        return _cors(JsonResponse({"reason": "consent_required",
                                   "detail": "The visitor has not consented to tracking."}, status=403), origin)
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    if ingest.is_bot(user_agent):
        services.bot_count_add(site_id=site.id, day=now.date())
        return _cors(HttpResponse(status=204), origin)
    ip = ingest.client_ip(request.META, conf.trusted_proxies())
    limit, window = conf.collect_rate_limit()
    result = services.collect_store(site=site, visitor_id=payload.visitor_id, events=payload.events, ip=ip,
                                    user_agent=user_agent, now=now, rate_limit=(limit, window))
    if result.rate_limited:
        response = _refusal(429, "rate_limited", "Too many requests from this address; try again shortly.",
                            origin=origin)
        response["Retry-After"] = str(window)
        return response
    body = {"stored": result.stored, "duplicates": result.duplicates}
    if result.dropped:
        body["dropped"] = result.dropped
    return _cors(JsonResponse(body, status=202), origin)


# Embedded forms ----------------------------------------------------------------------------------------


def _form_csp(form) -> str:
    """The house CSP, letting the form's site frame this page and post it back here."""
    return build_policy({**settings.SECURE_CSP, "frame-ancestors": ingest.frame_ancestors(form.site.domains)})


def _form_rate_limited(ip: str, form) -> bool:
    limit, window = conf.form_rate_limit()
    return services.rate_limit_hit(scope=f"form:{form.pk}", key=ip, limit=limit, window_seconds=window)


def _form_inputs(form, values, errors) -> list[dict]:
    """The form's inputs in display order (family name first in Japanese), labelled in the active language."""
    names = [("last_name", pgettext("inquiry form", "Family name"), "family-name"),
             ("first_name", pgettext("inquiry form", "Given name"), "given-name")]
    if form.language != "ja":
        names.reverse()
    rows: list[tuple[str, str, str, str, str]] = []  # (input name, label, type, mode, autocomplete)
    if form.mode("name") != "off":
        rows += [(name, label, "text", form.mode("name"), auto) for name, label, auto in names]
    rows.append(("email", pgettext("inquiry form", "Email"), "email", "required", "email"))
    optional = [("company", pgettext("inquiry form", "Company"), "text", "organization"),
                ("phone", pgettext("inquiry form", "Phone"), "tel", "tel"),
                ("message", pgettext("inquiry form", "Message"), "textarea", "")]
    rows += [(name, label, kind, form.mode(name), auto) for name, label, kind, auto in optional
             if form.mode(name) != "off"]
    if form.mode("consent") != "off":
        rows.append(("consent", form.consent_text or _("I agree to receive information by email."), "checkbox",
                     form.mode("consent"), ""))
    return [
        {"name": name, "label": label, "type": kind, "required": mode == "required", "autocomplete": auto,
         "value": values.get(name, "") if hasattr(values, "get") else "", "errors": errors.get(name, [])}
        for name, label, kind, mode, auto in rows
    ]


@csrf_exempt
@xframe_options_exempt
def form_page(request, key: str):
    """GET/POST /f/<key>/: the inquiry form a site embeds (in an iframe made by t.js, or directly).

    No cookie is needed (browsers drop third-party cookies in iframes); a honeypot field and a per-IP
    rate limit keep spam out.
    """
    form = selectors.form_public(key)
    source = request.POST if request.method == "POST" else request.GET
    context = {
        "form": form,
        "visitor_id": source.get("v", "") if ingest.ID_RE.match(source.get("v", "")) else "",
        "page_url": source.get("u", "") if ingest.is_http_url(source.get("u", "")) else "",
        "submission_id": source.get("submission_id") or uuid.uuid4().hex,
        "values": {}, "errors": {}, "done": False, "honeypot": services.HONEYPOT_FIELD,
    }
    status = 200
    with translation.override(form.language):
        if request.method == "POST":
            context["values"] = request.POST
            ip = ingest.client_ip(request.META, conf.trusted_proxies())
            if _form_rate_limited(ip, form):
                context["error"] = str(RateLimited().message)
                status = 429
            else:
                try:
                    services.form_submit(
                        form=form, data=request.POST, visitor_id=context["visitor_id"],
                        submission_id=request.POST.get("submission_id", ""), page_url=context["page_url"],
                        referrer=request.META.get("HTTP_REFERER", ""), ip=ip,
                        user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    )
                except InvalidInput as error:
                    context["errors"] = error.fields
                    context["error"] = error.message
                else:
                    context["done"] = True
        elif request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        context["inputs"] = _form_inputs(form, context["values"], context["errors"])
        response = render(request, "tracking/form_embed.html", context, status=status)
    response["Content-Security-Policy"] = _form_csp(form)
    return response


@csrf_exempt
def form_submit_json(request, key: str):
    """POST /f/<key>/submit: a site posting its own form as JSON (or form-encoded).

    200 {"ok": true}; 422 {"code": "invalid", "fields": {...}} in the form's language; 429 when rate
    limited; 403 for a browser origin that is not one of the site's domains.
    """
    form = selectors.form_public(key)
    origin = request.META.get("HTTP_ORIGIN", "")
    if request.method == "OPTIONS":
        if not ingest.origin_allowed(origin, form.site.domains):
            return HttpResponse(status=403)
        response = _cors(HttpResponse(status=204), origin)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return response
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST", "OPTIONS"])
    if origin and not ingest.origin_allowed(origin, form.site.domains):
        return JsonResponse({"code": "origin_not_allowed", "detail": "This origin is not one of the site's domains."},
                            status=403)

    def answer(body: dict, status: int) -> JsonResponse:
        response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
        return _cors(response, origin) if origin else response

    with translation.override(form.language):
        if request.content_type in ("application/json", "text/plain"):
            body = _read_body(request, conf.max_body_bytes())
            if body is None:
                return answer({"code": "too_large", "detail": _("The request is too large.")}, 413)
            try:
                data = ingest.parse_json_body(body)
            except ingest.PayloadError:
                return answer({"code": "malformed", "detail": _("The body is not a JSON object.")}, 400)
        else:
            data = request.POST.dict()
        ip = ingest.client_ip(request.META, conf.trusted_proxies())
        if _form_rate_limited(ip, form):
            error = RateLimited()
            return answer(error.as_dict(), error.status)
        try:
            services.form_submit(
                form=form, data=data, visitor_id=str(data.get("visitor_id") or ""),
                submission_id=str(data.get("submission_id") or ""), page_url=str(data.get("page_url") or ""),
                referrer=str(data.get("referrer") or ""), ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except InvalidInput as error:
            return answer(error.as_dict(), error.status)
        return answer({"ok": True, "message": form.thank_you_text or _("Thank you. We will be in touch shortly.")},
                      200)


# Sites and forms (marketing) ------------------------------------------------------------------------


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


def _public_base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@login_required
def site_list(request):
    sites = selectors.sites_for(request.user)
    return render(request, "tracking/site_list.html", {"sites": sites})


@login_required
def site_create(request):
    selectors.require_tracking_config(request.user)
    form = SiteForm(request.POST or None, initial={"consent_mode": "opt_out", "honour_dnt": True, "is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            site = services.site_create(actor=request.user, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The site was created. Paste the snippet into its pages."))
            return redirect("tracking:site_detail", site_id=site.pk)
    return render(request, "tracking/site_form.html", {"form": form, "site": None})


@login_required
def site_edit(request, site_id: int):
    site = selectors.site_get_for(request.user, site_id)
    form = SiteForm(request.POST or None, initial=SiteForm.initial_for(site))
    if request.method == "POST" and form.is_valid():
        try:
            services.site_update(actor=request.user, site=site, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The site was saved."))
            return redirect("tracking:site_detail", site_id=site.pk)
    return render(request, "tracking/site_form.html", {"form": form, "site": site})


def snippet_tag(base: str, site, form_key: str = "") -> str:
    attrs = [f'async src="{base}/t.js"', f'data-site="{site.key}"']
    if site.consent_mode != "opt_out":
        attrs.append(f'data-consent="{site.consent_mode}"')
    if not site.honour_dnt:
        attrs.append('data-dnt="0"')
    if form_key:
        attrs.append(f'data-form="{form_key}"')
    return f"<script {' '.join(attrs)}></script>"


@login_required
def site_detail(request, site_id: int):
    site = selectors.site_get_for(request.user, site_id)
    base = _public_base(request)
    forms = [
        {"form": f, "embed": snippet_tag(base, site, f.key),
         "iframe": f'<iframe src="{base}/f/{f.key}/" title="{escape(f.title or f.name)}" width="100%" '
                   f'height="640" frameborder="0"></iframe>',
         "json_url": f"{base}/f/{f.key}/submit"}
        for f in selectors.forms_of_site(site)
    ]
    return render(request, "tracking/site_detail.html", {
        "site": site, "snippet": snippet_tag(base, site), "forms": forms, "stats": selectors.site_stats(site),
        "base": base,
    })


@login_required
@require_POST
def site_rotate_key(request, site_id: int):
    site = selectors.site_get_for(request.user, site_id)
    services.site_rotate_key(actor=request.user, site=site)
    messages.success(request, _("The site has a new key. Update the snippet on its pages."))
    return redirect("tracking:site_detail", site_id=site.pk)


@login_required
def form_create(request, site_id: int):
    site = selectors.site_get_for(request.user, site_id)
    form = InquiryFormForm(request.POST or None, initial={
        "language": translation.get_language() if translation.get_language() in ("ja", "en") else "ja",
        "is_active": True, "field_name": "required", "field_company": "required",
    })
    if request.method == "POST" and form.is_valid():
        try:
            services.form_create(actor=request.user, site=site, **form.service_fields())
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The form was created. Its embed code is below."))
            return redirect("tracking:site_detail", site_id=site.pk)
    return render(request, "tracking/form_form.html", {"form": form, "site": site, "inquiry": None})


@login_required
def form_edit(request, form_id: int):
    inquiry = selectors.form_get_for(request.user, form_id)
    form = InquiryFormForm(request.POST or None, initial=InquiryFormForm.initial_for(inquiry))
    if request.method == "POST" and form.is_valid():
        try:
            services.form_update(actor=request.user, form=inquiry, **form.service_fields())
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The form was saved."))
            return redirect("tracking:site_detail", site_id=inquiry.site_id)
    return render(request, "tracking/form_form.html", {"form": form, "site": inquiry.site, "inquiry": inquiry})


# Webinars ----------------------------------------------------------------------------------------------


@login_required
def webinar_list(request):
    return render(request, "tracking/webinar_list.html", {"webinars": selectors.webinars_for(request.user)})


@login_required
def webinar_create(request):
    selectors.require_tracking_config(request.user)
    form = WebinarForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            webinar = services.webinar_create(actor=request.user, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            return redirect("tracking:webinar_detail", webinar_id=webinar.pk)
    return render(request, "tracking/webinar_form.html", {"form": form})


@login_required
def webinar_detail(request, webinar_id: int):
    """The webinar with its import form; a POST checks (dry run) or imports a CSV and shows the report."""
    webinar = selectors.webinar_get_for(request.user, webinar_id)
    form = WebinarImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > services.MAX_IMPORT_BYTES:
            form.add_error("file", _("The file is larger than 5 MB."))
        else:
            try:
                report = services.webinar_import(
                    actor=request.user, webinar=webinar, content=upload.read(), filename=upload.name,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except InvalidInput as error:
                _add_errors(form, error)
    return render(request, "tracking/webinar_detail.html", {
        "webinar": webinar, "form": form, "report": report, "counts": selectors.webinar_counts(webinar),
        "imports": selectors.webinar_imports(webinar)[:20],
    })


# Privacy ---------------------------------------------------------------------------------------------


@login_required
@require_POST
def lead_export(request, lead_id: int):
    """POST: download everything held about the lead as JSON (admin and marketing); the export is noted."""
    if not selectors.can_export_lead_data(request.user):
        raise PermissionDenied()
    lead = lead_get_for(request.user, lead_id)
    services.lead_export_record(actor=request.user, lead=lead)
    data = selectors.lead_export_data(lead)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2, default=str), content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="lead-{lead.pk}.json"'
    return response


@login_required
def lead_erase(request, lead_id: int):
    """Confirm and erase a person's data (admin only)."""
    if not selectors.can_erase_lead(request.user):
        raise PermissionDenied()
    lead = lead_get_for(request.user, lead_id)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_erase_personal_data(actor=request.user, lead=lead, reason=form.cleaned_data["reason"])
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The person's data was erased."))
            return redirect("leads:lead_list")
    return render(request, "tracking/lead_erase.html", {
        "lead": lead, "form": form, "journey": selectors.lead_journey(lead),
        "visitors": selectors.lead_visitor_count(lead),
    })


# The lead page panel ------------------------------------------------------------------------------------


def lead_journey_panel(*, request, record) -> dict | None:
    """Context of the "web journey" panel on the lead page (the page already checked access)."""
    journey = selectors.lead_journey(record)
    return {
        "journey": journey,
        "can_export": selectors.can_export_lead_data(request.user),
        "can_erase": selectors.can_erase_lead(request.user),
    }
