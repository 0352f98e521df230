"""Start-up check: Celery is configured so that no notification is lost."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility, deploy=False)
def celery_never_loses_notifications(app_configs=None, **kwargs):
    from config.celery import app

    conf = app.conf
    errors = []

    def require(condition, message, hint, code):
        if not condition:
            errors.append(Error(message, hint=hint, id=f"notifications.E{code:03d}"))

    require(
        conf.task_acks_late, "Celery tasks are acknowledged before they run.", "Set CELERY_TASK_ACKS_LATE = True.", 1
    )
    require(
        conf.task_reject_on_worker_lost,
        "A task whose worker dies is dropped.",
        "Set CELERY_TASK_REJECT_ON_WORKER_LOST = True.",
        2,
    )
    require(
        conf.worker_prefetch_multiplier == 1,
        "Workers prefetch more than one task.",
        "Set CELERY_WORKER_PREFETCH_MULTIPLIER = 1.",
        3,
    )
    if str(conf.broker_url or "").startswith(("redis://", "rediss://")):
        timeout = (conf.broker_transport_options or {}).get("visibility_timeout", 3600)
        require(
            timeout <= 900,
            f"Redis visibility timeout is {timeout} s: a lost task waits that long.",
            "Set CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] to a few minutes.",
            4,
        )
    require(
        "notifications-sweep" in (getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {}),
        "The outbox sweep is not scheduled: notifications the broker lost are never sent.",
        "Keep 'notifications-sweep' in CELERY_BEAT_SCHEDULE.",
        5,
    )
    return errors
