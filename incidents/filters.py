"""The list filters: one GET form, so every list state is a bookmarkable URL."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .models import Application, Criticality, Gravity, Priority, Service, Status

SORTS = {
    "newest": (_("Newest first"), ["-created_at", "-id"]),
    "oldest": (_("Oldest first"), ["created_at", "id"]),
    "priority": (_("Highest priority first"), ["priority", "-created_at", "-id"]),
    "updated": (_("Recently updated"), ["-updated_at", "-id"]),
    "closed": (_("Recently closed"), ["-closed_at", "-id"]),
}


def staff_users():
    """People tickets can be assigned to: members of at least one service."""
    return get_user_model().objects.filter(is_active=True, membership__isnull=False).distinct()


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    service = django_filters.ModelChoiceFilter(
        label=_("Service"), queryset=Service.objects.filter(is_active=True), empty_label=_("All services")
    )
    application = django_filters.ModelChoiceFilter(
        label=_("Application"), queryset=Application.objects.all(), empty_label=_("All applications")
    )
    gravity = django_filters.ChoiceFilter(label=_("Gravity"), choices=Gravity.choices, empty_label=_("Any gravity"))
    criticality = django_filters.ChoiceFilter(
        label=_("Criticality"), choices=Criticality.choices, empty_label=_("Any criticality")
    )
    priority = django_filters.ChoiceFilter(label=_("Priority"), choices=Priority.choices, empty_label=_("Any priority"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices, empty_label=_("Any status"))
    assignee = django_filters.ModelChoiceFilter(
        label=_("Assignee"), queryset=staff_users(), empty_label=_("Anyone"), null_label=_("Nobody")
    )
    created_after = django_filters.DateFilter(
        label=_("Created from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        label=_("Created until"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    # Sorting is applied by the keyset paginator, not here: the filter only validates it.
    sort = django_filters.ChoiceFilter(label=_("Sort"), choices=(), empty_label=None, method="keep")

    class Meta:
        fields = []

    def __init__(self, *args, sorts=(), statuses=(), staff=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff
        form_fields = self.form.fields
        form_fields["sort"].choices = [(key, SORTS[key][0]) for key in sorts]
        if statuses:
            form_fields["status"].choices = [("", _("Any status")), *[(s.value, s.label) for s in statuses]]
        else:
            del self.filters["status"]
            del form_fields["status"]
        if not staff:
            del self.filters["assignee"]
            del form_fields["assignee"]
        for field in form_fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", f"{css} {css}-sm")

    def keep(self, queryset, name, value):
        return queryset

    def search(self, queryset, name, value):
        return queryset.search(value, staff=self.staff)
