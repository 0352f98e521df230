"""What the API reads and writes. Output mirrors the ticket page; input is checked for
shape here, and for the desk's rules by incidents.actions."""

import datetime

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from incidents import rules
from incidents.models import Application, Channel, Criticality, Gravity, Kind, Priority, Service, Status

# Output


class UtcDateTimeField(serializers.DateTimeField):
    """Read-only times in UTC ("...Z"): the server's zone would give an old date its local
    mean time, an offset in seconds that RFC 3339 (and the schema) do not allow."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, default_timezone=datetime.UTC, **kwargs)


ACTIONS = ["comment", "internal_note", "intervention", "reroute", "close", "reopen", "decide", "assign", "take"]


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ReferenceSerializer(serializers.Serializer):
    """A service or an application, by id and name."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "name"]


class ApplicationSerializer(serializers.ModelSerializer):
    default_service = ReferenceSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Application
        fields = ["id", "name", "description", "default_service"]


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text=_("In bytes."))


class TimelineEntrySerializer(serializers.Serializer):
    """One line of the timeline; the fields that do not apply to its kind are null or blank."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=Kind.choices, read_only=True)
    author = PersonSerializer(read_only=True)
    created_at = UtcDateTimeField()
    body = serializers.CharField(read_only=True)
    is_internal = serializers.BooleanField(read_only=True, help_text=_("Staff only; never shown to the reporter."))
    performed_at = UtcDateTimeField(allow_null=True)
    minutes = serializers.IntegerField(read_only=True, allow_null=True)
    from_service = ReferenceSerializer(read_only=True, allow_null=True)
    to_service = ReferenceSerializer(read_only=True, allow_null=True)
    from_status = serializers.ChoiceField(choices=Status.choices, read_only=True, allow_blank=True)
    to_status = serializers.ChoiceField(choices=Status.choices, read_only=True, allow_blank=True)
    changes = serializers.JSONField(
        read_only=True, allow_null=True, help_text=_('Reclassification: {"gravity": [old, new], ...}.')
    )
    assignee = PersonSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)


class TicketSummarySerializer(serializers.Serializer):
    """A row of the ticket list."""

    number = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    gravity = serializers.ChoiceField(choices=Gravity.choices, read_only=True)
    criticality = serializers.ChoiceField(choices=Criticality.choices, read_only=True)
    priority = serializers.ChoiceField(
        choices=Priority.choices, read_only=True, help_text=_("1 (critical) to 5 (planned).")
    )
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    application = ReferenceSerializer(read_only=True)
    service = ReferenceSerializer(read_only=True)
    reporter = PersonSerializer(read_only=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    closed_at = UtcDateTimeField(allow_null=True)

    def get_url(self, ticket) -> str:
        return reverse("api:ticket-detail", kwargs={"number": ticket.number}, request=self.context.get("request"))


class TicketSerializer(TicketSummarySerializer):
    """A ticket as its page shows it to the user asking: the timeline (internal notes only
    for staff), the watchers and the actions this user may take now."""

    description = serializers.CharField(read_only=True)
    created_by = PersonSerializer(read_only=True)
    first_response_at = UtcDateTimeField(allow_null=True)
    time_spent = serializers.IntegerField(read_only=True, help_text=_("Minutes, the sum of the interventions."))
    timeline = TimelineEntrySerializer(many=True, read_only=True, source="page.entries")
    timeline_truncated = serializers.BooleanField(
        read_only=True, source="page.truncated", help_text=_("Only the first entries are listed.")
    )
    watchers = PersonSerializer(many=True, read_only=True, source="page.watching_users")
    actions = serializers.SerializerMethodField(help_text=_("What the user asking may do to this ticket now."))

    @extend_schema_field(
        {"type": "object", "properties": {name: {"type": "boolean"} for name in ACTIONS}, "required": ACTIONS}
    )
    def get_actions(self, ticket):
        return {name: allowed for name, allowed in ticket.page.allowed.items() if name in ACTIONS}


# Input


def _active_people():
    return get_user_model().objects.filter(is_active=True)


class TicketCreateSerializer(serializers.Serializer):
    """Operators and managers open tickets for a caller (`reporter`) and may route them
    (`service`) and name the channel; everyone else reports for themself, to the
    application's default service, through the API channel."""

    application = serializers.PrimaryKeyRelatedField(queryset=Application.objects.filter(is_active=True))
    title = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(allow_blank=True, trim_whitespace=False)
    gravity = serializers.ChoiceField(choices=Gravity.choices)
    criticality = serializers.ChoiceField(choices=Criticality.choices)
    reporter = serializers.SlugRelatedField(
        slug_field="username", queryset=_active_people(), required=False, help_text=_("Username; default: you.")
    )
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text=_("Operators only; default: the application's service."),
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, help_text=_("Operators only; default: api.")
    )
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)

    def validate(self, data):
        user = self.context["request"].user
        operator = rules.can_open_ticket(user)
        if not operator:
            for name in ("service", "channel"):
                if data.get(name):
                    raise serializers.ValidationError({name: _("Only operators choose this.")})
        if not data.get("service"):
            service = data["application"].default_service
            if service is None or not service.is_active:
                raise serializers.ValidationError(
                    {"service" if operator else "application": _("This application has no default service.")}
                )
            data["service"] = service
        data.setdefault("reporter", user)
        data["channel"] = data.get("channel") or Channel.API
        return data


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    internal = serializers.BooleanField(
        default=False, help_text=_("An internal note: staff only, never shown or sent to the reporter.")
    )
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class InterventionSerializer(serializers.Serializer):
    performed_at = serializers.DateTimeField(help_text=_("When the work was done; not in the future."))
    minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)
    body = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text=_("What was done."))


class RerouteSerializer(serializers.Serializer):
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.filter(is_active=True))
    justification = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=_("What was found so far, for the service that takes over.")
    )


class StatusCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=_("Every status change carries an observation.")
    )


class DecisionSerializer(StatusCommentSerializer):
    decision = serializers.ChoiceField(
        choices=[("accept", _("Accept: to the service's queue")), ("decline", _("Decline: close it"))]
    )


class AssignSerializer(serializers.Serializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username", queryset=_active_people(), help_text=_("Username of a member of the ticket's service.")
    )


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(
        required=False, child=serializers.JSONField(), help_text=_("Input errors: the messages of each field.")
    )
