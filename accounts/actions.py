"""Changes to a person's own settings."""

from django.db import transaction

from notifications.models import Preference


@transaction.atomic
def update_profile(user, *, language, phone, quiet_hours_start, quiet_hours_end, preferences) -> None:
    """Save the person's language, phone, quiet hours and, per event, e-mail and SMS choices."""
    user.language, user.phone = language, phone or ""
    user.quiet_hours_start, user.quiet_hours_end = quiet_hours_start, quiet_hours_end
    user.save(update_fields=["language", "phone", "quiet_hours_start", "quiet_hours_end"])
    for event, (email, sms) in preferences.items():
        Preference.objects.update_or_create(user=user, event=event, defaults={"email": email, "sms": sms})
