"""The ticket list's filters: those of the desk's lists (incidents.filters), as query parameters."""

import django_filters

from incidents.filters import TicketFilter
from incidents.querysets import is_staff


class ApiTicketFilter(TicketFilter):
    """service, application, gravity, criticality, priority, status, assignee (staff only;
    `null` for nobody), created_after / created_before (dates) and q (text in the number,
    title, description and comments; internal notes for staff only)."""

    sort = None  # the cursor fixes the order: newest first

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # TicketFilter.__init__ shapes the web form (sorts, widgets, one list's statuses):
        # none of that applies here, only who counts as staff.
        django_filters.FilterSet.__init__(self, data, queryset, request=request, prefix=prefix)
        self.staff = is_staff(request.user)
        if not self.staff:
            del self.filters["assignee"]
