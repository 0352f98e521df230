"""Personas of the desk (seed 004's story) and settings every test shares."""

import pytest

from accounts.roles import Role

from .factories import ApplicationFactory, ServiceFactory, UserFactory, open_ticket


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Unhashed static files: collectstatic does not run before tests (STACK.md 3.5).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.AXES_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def dev_service(db):
    return ServiceFactory(name="Application developers")


@pytest.fixture
def net_service(db):
    return ServiceFactory(name="Network")


@pytest.fixture
def intranet(dev_service):
    return ApplicationFactory(name="Intranet", default_service=dev_service)


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", role=Role.OPERATOR)


@pytest.fixture
def dev_tech(dev_service):
    return UserFactory(username="dev", role=Role.TECHNICIAN, services=[dev_service])


@pytest.fixture
def net_tech(net_service):
    return UserFactory(username="net", role=Role.TECHNICIAN, services=[net_service])


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role=Role.MANAGER)


@pytest.fixture
def reporter(db):
    return UserFactory(username="reporter", role=Role.USER)


@pytest.fixture
def other_reporter(db):
    return UserFactory(username="other", role=Role.USER)


@pytest.fixture
def ticket(operator, reporter, intranet):
    """An open, severe and blocking ticket in the developers' queue."""
    return open_ticket(by=operator, reporter=reporter, application=intranet)


@pytest.fixture
def evolution_request(operator, reporter, intranet):
    return open_ticket(
        by=operator,
        reporter=reporter,
        application=intranet,
        criticality="evolution",
        gravity="minor",
        title="Add a CSV export",
    )
