"""One form per action. Forms validate input; the rules live in incidents.actions."""

from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Application, Channel, Criticality, Gravity, Membership, Service


class TicketIntakeForm(forms.Form):
    """The operator's fast intake: who calls, about what, how bad, routed where."""

    reporter = forms.ModelChoiceField(
        label=_("Reporter"),
        queryset=get_user_model().objects.filter(is_active=True),
        help_text=_("The person who calls: type a name, a username or an e-mail."),
        widget=forms.Select(attrs={"data-autocomplete": reverse_lazy("user-search"), "autofocus": True}),
    )
    application = forms.ModelChoiceField(
        label=_("Application"),
        queryset=Application.objects.filter(is_active=True).select_related("default_service"),
        widget=forms.Select(attrs={"data-searchable": "true"}),
    )
    service = forms.ModelChoiceField(
        label=_("Route to service"),
        queryset=Service.objects.filter(is_active=True),
        help_text=_("Left empty, the application's default service."),
        required=False,
        widget=forms.Select(attrs={"data-searchable": "true"}),
    )
    gravity = forms.ChoiceField(label=_("Gravity"), choices=Gravity.choices, widget=forms.RadioSelect)
    criticality = forms.ChoiceField(label=_("Criticality"), choices=Criticality.choices, widget=forms.RadioSelect)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Render only the chosen reporter: the others are searched as you type, never sent whole.
        field, chosen = self.fields["reporter"], str(self["reporter"].value() or "")
        people = field.queryset.filter(pk=chosen) if chosen.isdigit() else []
        field.widget.choices = [("", "")] + [(person.pk, f"{person} ({person.username})") for person in people]

    def clean(self):
        data = super().clean()
        if data.get("application") and not data.get("service"):
            service = data["application"].default_service
            if service is None or not service.is_active:
                self.add_error("service", _("This application has no default service: choose one."))
            else:
                data["service"] = service
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (empty when none)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class PortalTicketForm(forms.Form):
    """A user or customer reports trouble themself, from the self-service portal."""

    application = forms.ModelChoiceField(
        label=_("Application"),
        queryset=Application.objects.filter(is_active=True, default_service__is_active=True),
        help_text=_("What does not work?"),
        widget=forms.Select(attrs={"data-searchable": "true"}),
    )
    title = forms.CharField(label=_("Title"), max_length=200, help_text=_("In a few words."))
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What you did, what you expected, what happened instead, any error message."),
    )
    gravity = forms.ChoiceField(
        label=_("How bad is it?"), choices=Gravity.choices, initial=Gravity.ANNOYING, widget=forms.RadioSelect
    )
    criticality = forms.ChoiceField(
        label=_("Does it stop your work?"),
        choices=Criticality.choices,
        initial=Criticality.NON_BLOCKING,
        widget=forms.RadioSelect,
        help_text=_("Choose “Evolution” to ask for something new rather than report a fault."),
    )
    attachments = MultipleFileField(label=_("Attachments"), help_text=_("Screenshots, logs…"))


class ReclassifyForm(forms.Form):
    gravity = forms.ChoiceField(label=_("Gravity"), choices=Gravity.choices, widget=forms.RadioSelect)
    criticality = forms.ChoiceField(label=_("Criticality"), choices=Criticality.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(label=_("Attachments"))
    internal = forms.BooleanField(
        label=_("Internal note: staff only, never shown or sent to the reporter"), required=False
    )

    def __init__(self, *args, internal_allowed=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not internal_allowed:
            del self.fields["internal"]


class InterventionForm(forms.Form):
    performed_at = forms.DateTimeField(
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    minutes = forms.IntegerField(label=_("Time spent (minutes)"), min_value=1, max_value=24 * 60)
    body = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"performed_at": timezone.localtime().replace(second=0, microsecond=0)})
        super().__init__(*args, **kwargs)


class RerouteForm(forms.Form):
    service = forms.ModelChoiceField(label=_("Re-route to"), queryset=Service.objects.none())
    justification = forms.CharField(
        label=_("Justification"),
        help_text=_("What was found so far, for the service that takes over."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(is_active=True).exclude(pk=ticket.service_id)


class StatusCommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Observation"),
        help_text=_("Every status change carries a comment."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(StatusCommentForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("accept", _("Accept: the request goes to the service's queue")), ("decline", _("Decline: close it"))],
        widget=forms.RadioSelect,
    )


class WatcherForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("Add a watcher"),
        queryset=get_user_model().objects.filter(is_active=True),
        widget=forms.Select(attrs={"data-autocomplete": reverse_lazy("user-search")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].widget.choices = [("", "")]  # searched as you type


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=get_user_model().objects.none())

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(service_id=ticket.service_id).values("user_id")
        self.fields["assignee"].queryset = get_user_model().objects.filter(pk__in=members, is_active=True)
