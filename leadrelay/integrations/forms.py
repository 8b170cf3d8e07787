from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from leadrelay.core.events import EVENT_TYPES
from leadrelay.integrations import fields as import_fields
from leadrelay.integrations.models import ImportTarget, WebhookSubscription
from leadrelay.integrations.webhooks import EVENT_TITLES

ENCODING_CHOICES = [
    ("", _("Detect (UTF-8 with or without BOM, Shift_JIS)")),
    ("utf-8", "UTF-8"),
    ("cp932", "Shift_JIS (CP932)"),
    ("euc_jp", "EUC-JP"),
    ("utf-16", "UTF-16"),
]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File (CSV or Excel .xlsx)"))
    target = forms.ChoiceField(label=_("What the rows are"))
    source_name = forms.CharField(
        label=_("Source"), required=False, max_length=100,
        help_text=_("Where the file comes from (Salesforce, HubSpot, Marketo, Sansan, a trade show list...). "
                    "The column mapping is remembered per source."),
        widget=forms.TextInput(attrs={"list": "import-sources", "autocomplete": "off"}),
    )
    encoding = forms.ChoiceField(label=_("Text encoding (CSV)"), required=False, choices=ENCODING_CHOICES)

    def __init__(self, *args, targets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ImportTarget.choices)
        self.fields["target"].choices = [(t, labels[t]) for t in targets]
        self.fields["file"].widget.attrs["accept"] = ".csv,.txt,.tsv,.xlsx"


class MappingForm(forms.Form):
    """One choice per column of the file: the field it fills, or nothing."""

    def __init__(self, *args, headers: list[str], target: str, samples: list[list[str]], initial_mapping: dict,
                 **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— not imported —"))] + [(f.key, f.label) for f in import_fields.fields_for(target)]
        self.columns = []
        for index, header in enumerate(headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header, required=False, choices=choices, initial=initial_mapping.get(header, ""),
            )
            values = [row[index] for row in samples if index < len(row) and row[index].strip()]
            self.columns.append({"header": header, "name": name, "samples": values[:3]})
        self.headers = headers

    def bound_columns(self):
        for column in self.columns:
            yield {**column, "field": self[column["name"]]}

    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data.get(f"col_{i}") or "" for i, header in enumerate(self.headers)}


class WebhookSubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("Receiver URL"), max_length=500,
        help_text=_("https:// address that receives a POST per event (a Slack incoming-webhook URL for chat)."),
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events"), widget=forms.CheckboxSelectMultiple,
        choices=[(t, f"{EVENT_TITLES.get(t, t)} ({t})") for t in EVENT_TYPES],
    )
    format = forms.ChoiceField(label=_("Format"), choices=WebhookSubscription.Format.choices)
    language = forms.ChoiceField(label=_("Message language"), choices=settings.LANGUAGES, initial="ja")
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
