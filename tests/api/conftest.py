"""The API's clients: each persona with a token of their own, or nobody."""

import uuid

import pytest
from rest_framework.test import APIClient

from api import actions as token_actions
from incidents import actions

from ..factories import open_ticket

PERSONAS = ["operator", "dev_tech", "net_tech", "reporter", "other_reporter", "manager", "anonymous"]


@pytest.fixture(autouse=True)
def _own_rate_counts(settings):
    """Each test counts requests afresh, in the configured shared cache (files, or Redis
    with REDIS_URL): SQLite reuses user ids from one test to the next."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


def token_for(user, name="script") -> str:
    return token_actions.create_token(by=user, name=name)[1]


def client_for(user, **kwargs) -> APIClient:
    """A client that sends `user`'s token (none for None: anonymous)."""
    client = APIClient(**kwargs)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def as_persona(request):
    """as_persona("dev_tech") -> an API client with a token of that persona (one per test)."""
    clients = {}

    def make(persona):
        if persona not in clients:
            clients[persona] = client_for(None if persona == "anonymous" else request.getfixturevalue(persona))
        return clients[persona]

    return make


@pytest.fixture
def closed_ticket(operator, reporter, intranet, dev_tech):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet, title="Printer offline")
    actions.close_ticket(ticket, by=dev_tech, comment="Fixed.")
    ticket.refresh_from_db()
    return ticket
