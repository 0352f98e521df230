"""Changes to a person's own settings."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notifications.models import Preference


@transaction.atomic
def update_profile(user, *, language, phone, quiet_hours_start, quiet_hours_end, preferences) -> None:
    """Save the person's language, phone, quiet hours and, per event, e-mail and SMS choices."""
    user.language, user.phone = language, phone or ""
    user.quiet_hours_start, user.quiet_hours_end = quiet_hours_start, quiet_hours_end
    user.save(update_fields=["language", "phone", "quiet_hours_start", "quiet_hours_end"])
    for event, (email, sms) in preferences.items():
        Preference.objects.update_or_create(user=user, event=event, defaults={"email": email, "sms": sms})


def invite_user(user, *, by) -> None:
    """E-mail `user` a link to choose their password (valid PASSWORD_RESET_TIMEOUT).

    How an administrator opens an account for a customer without open sign-up."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})
    context = {"user": user, "by": by, "url": settings.SITE_URL.rstrip("/") + path}
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string("registration/invitation_subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject, render_to_string("registration/invitation_body.txt", context), to=[user.email]
        )
        message.attach_alternative(render_to_string("registration/invitation_body.html", context), "text/html")
    message.send()


@transaction.atomic
def sign_up(form):
    """Create the account of someone who signed up themself: a plain user."""
    from .roles import Role, give_role

    user = form.save()
    give_role(user, Role.USER)
    return user
