"""The names people give their API tokens.

A token is a knox AuthToken: only its SHA-512 digest is stored, so its secret is shown
once, when it is made (api.actions.create_token), and never again.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NamedToken(models.Model):
    """One of a user's API tokens, named after the script or tool that uses it."""

    token = models.OneToOneField(
        "knox.AuthToken", on_delete=models.CASCADE, related_name="named", verbose_name=_("token")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="named_token_unique")]

    def __str__(self):
        return f"{self.user} · {self.name}"
