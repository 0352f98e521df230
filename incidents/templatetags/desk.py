from django import template
from django.utils.translation import gettext as _

from incidents.models import Criticality, Gravity, Priority

register = template.Library()


@register.filter
def duration(minutes):
    """120 -> "2 h", 95 -> "1 h 35 min", 20 -> "20 min"."""
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": rest}


LABELS = {
    "gravity": (Gravity, lambda: _("Gravity")),
    "criticality": (Criticality, lambda: _("Criticality")),
    "priority": (Priority, lambda: _("Priority")),
}


@register.filter
def changes(entry):
    """A reclassification's changes as translated (field, old, new) label triples."""
    rows = []
    for name, (choices, label) in LABELS.items():
        old, new = (entry.changes or {}).get(name, (None, None))
        if old != new:
            rows.append((label(), choices(old).label, choices(new).label))
    return rows
