from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class User(AbstractUser):
    """A person who uses Firebreak: caller, operator, technician, manager or administrator.

    The role is the user's Django group (see accounts.roles); what a role may do is a
    permission of that group, never a check of the group's name.
    """

    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Language of the interface and of e-mails. Empty: the browser's."),
    )

    phone = PhoneNumberField(
        _("mobile phone"),
        blank=True,
        default="",
        db_default="",
        help_text=_("For SMS notifications and on-call pages."),
    )
    quiet_hours_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_hours_end = models.TimeField(_("quiet hours until"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["last_name", "first_name", "username"]

    def __str__(self):
        return self.get_full_name() or self.username

    def quiet_until(self, at: datetime) -> datetime | None:
        """The end of the quiet hours `at` falls in (local time), or None outside them."""
        start, end = self.quiet_hours_start, self.quiet_hours_end
        if start is None or end is None or start == end:
            return None
        local = timezone.localtime(at)
        now = local.time()
        inside = start <= now < end if start < end else (now >= start or now < end)
        if not inside:
            return None
        until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if until <= local:
            until += timedelta(days=1)
        return until
