"""Start-up check: the escalation beat is scheduled, or pages stop at level 1."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def escalation_is_scheduled(app_configs=None, **kwargs):
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {}
    if any(entry.get("task") == "oncall.escalate" for entry in schedule.values()):
        return []
    return [
        Error(
            "The on-call escalation is not scheduled: nobody past level 1 is ever paged.",
            hint="Keep an entry for the task 'oncall.escalate' in CELERY_BEAT_SCHEDULE.",
            id="oncall.E001",
        )
    ]
