from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from notifications.models import Event, Preference
from notifications.preferences import default_channels

from .models import User


class ProfileForm(forms.ModelForm):
    """The person's own settings: language, phone, quiet hours, and per event how they hear of it."""

    phone = PhoneNumberField(label=_("Mobile phone"), required=False, help_text=_("E.g. +33 6 12 34 56 78."))

    class Meta:
        model = User
        fields = ["language", "phone", "quiet_hours_start", "quiet_hours_end"]
        widgets = {
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        help_texts = {"quiet_hours_start": _("No SMS in these hours, except on-call pages.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.instance
        chosen = {p.event: (p.email, p.sms) for p in Preference.objects.filter(user=user)}
        roles = {group.name for group in user.groups.all()}
        for event in Event:
            if event == Event.PAGE:
                continue  # pages always go by e-mail and SMS
            email, sms = chosen.get(event) or default_channels(roles, event)
            for channel, label, on in (("email", _("E-mail"), email), ("sms", _("SMS"), sms)):
                self.fields[f"{event.value}__{channel}"] = forms.BooleanField(
                    label=f"{event.label}: {label}", required=False, initial=on
                )

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if (start is None) != (end is None):
            self.add_error("quiet_hours_end", _("Give both ends of the quiet hours, or neither."))
        wants_sms = any(data.get(f"{event.value}__sms") for event in Event if event != Event.PAGE)
        if wants_sms and not data.get("phone"):
            self.add_error("phone", _("SMS need a mobile phone number."))
        return data

    def event_rows(self):
        return [
            (event.label, self[f"{event.value}__email"], self[f"{event.value}__sms"])
            for event in Event
            if event != Event.PAGE
        ]

    def preferences(self) -> dict[str, tuple[bool, bool]]:
        return {
            event.value: (self.cleaned_data[f"{event.value}__email"], self.cleaned_data[f"{event.value}__sms"])
            for event in Event
            if event != Event.PAGE
        }


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "email"):
            self.fields[name].required = True
