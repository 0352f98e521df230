"""Password reset by e-mail, invitations, and sign-up only where enabled."""

import re

from django.core import mail
from django.urls import reverse

from accounts.actions import invite_user

from ..factories import UserFactory

LINK = re.compile(r"https?://[^\s\"<]+/accounts/password/reset/[^\s\"<]+/")


def test_password_reset_by_email(client, reporter):
    response = client.post(reverse("password_reset"), {"email": reporter.email})
    assert response.status_code == 302 and len(mail.outbox) == 1
    link = LINK.search(mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = client.get("/" + path, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "Tr0ub4dor&3x", "new_password2": "Tr0ub4dor&3x"}
    )
    assert response.status_code == 302
    reporter.refresh_from_db()
    assert reporter.check_password("Tr0ub4dor&3x")


def test_unknown_address_reveals_nothing(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and mail.outbox == []


def test_an_invited_customer_chooses_a_password(client, operator):
    customer = UserFactory(username="newcustomer", password=None)
    customer.set_unusable_password()
    customer.save()
    invite_user(customer, by=operator)
    assert len(mail.outbox) == 1 and "newcustomer" in mail.outbox[0].body
    path = "/" + LINK.search(mail.outbox[0].body).group(0).split("://", 1)[1].split("/", 1)[1]
    form = client.get(path, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": "Tr0ub4dor&3x", "new_password2": "Tr0ub4dor&3x"})
    customer.refresh_from_db()
    assert customer.check_password("Tr0ub4dor&3x")


def test_sign_up_is_closed_unless_enabled(client, settings, db):
    assert client.get(reverse("signup")).status_code == 404
    settings.ALLOW_SIGNUP = True
    response = client.post(
        reverse("signup"),
        {
            "username": "walkin",
            "first_name": "Walk",
            "last_name": "In",
            "email": "walkin@example.com",
            "password1": "Tr0ub4dor&3x",
            "password2": "Tr0ub4dor&3x",
        },
    )
    assert response.status_code == 302
    from accounts.models import User

    assert [g.name for g in User.objects.get(username="walkin").groups.all()] == ["Users"]
