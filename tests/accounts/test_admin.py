"""Administrators manage reference data and people in the Django admin."""

from django.urls import reverse

from accounts.roles import Role

from ..factories import UserFactory


def test_administrator_manages_services_applications_and_users(client, db):
    admin = UserFactory(role=Role.ADMINISTRATOR)
    client.force_login(admin)
    for name in ("incidents_service", "incidents_application", "accounts_user"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:{name}_add")).status_code == 200


def test_administrator_cannot_grant_superuser_powers(client, db):
    admin = UserFactory(role=Role.ADMINISTRATOR)
    target = UserFactory()
    client.force_login(admin)
    page = client.get(reverse("admin:accounts_user_change", args=[target.pk])).content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="groups"' in page


def test_other_roles_have_no_admin(client, db):
    for role in (Role.OPERATOR, Role.TECHNICIAN, Role.MANAGER, Role.USER):
        client.force_login(UserFactory(role=role))
        assert client.get(reverse("admin:index")).status_code == 302
