"""Start-up checks: a rate limit the throttle cannot read would fail every API request."""

import re

from django.conf import settings
from django.core.checks import Error, register

RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


@register()
def rate_limits(app_configs, **kwargs):
    return [
        Error(f"{name} = {getattr(settings, name)!r} is not a rate like '120/minute'.", id="api.E001")
        for name in ("API_RATE_LIMIT", "API_ANON_RATE_LIMIT")
        if not RATE.match(str(getattr(settings, name, "")))
    ]
