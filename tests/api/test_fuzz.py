"""Schemathesis drives every operation of the live schema with generated requests, as a
technician of a service, through Django's WSGI application: no answer may be a 500, and
every answer must be one the schema documents, with a body of the documented shape."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from incidents import actions

from ..factories import open_ticket
from .conftest import token_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi(db):
    """Django's WSGI application, inside the test's transaction: like Django's test client,
    do not close the database connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def desk(operator, dev_tech, reporter, intranet, net_service, evolution_request, closed_ticket):
    """Tickets of the technician's service in each state and real references, so that
    generated requests reach the actions (not only their 404 and 400); the technician's token."""
    tickets = [open_ticket(by=operator, reporter=reporter, application=intranet) for _ in range(3)]
    actions.add_comment(tickets[0], by=dev_tech, body="Looking.", internal=True)
    return {
        "token": token_for(dev_tech),
        "number": [t.number for t in tickets + [evolution_request, closed_ticket]],
        "application": [intranet.pk],
        "service": [net_service.pk, intranet.default_service_id],
        "assignee": [dev_tech.username],
    }


def aim(values: dict, desk: dict) -> None:
    """Replace most generated ids with real ones (some stay generated, for the 404 and 400)."""
    for name, value in list(values.items()):
        if name in desk and name != "token" and len(str(value)) % 4:
            values[name] = desk[name][len(str(value)) % len(desk[name])]


# The schema the running application serves, fetched through its WSGI entry point when
# this module is collected (schemathesis' fixture-based loader does not run on pytest 9.2).
with override_settings(API_ANON_RATE_LIMIT="100000/minute"):  # collections in a row must not hit a 429
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


@schema.parametrize()
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error_and_answers_as_documented(case, wsgi, desk, settings):
    settings.API_RATE_LIMIT = "100000/minute"  # one token sending hundreds of requests
    aim(case.path_parameters or {}, desk)
    if isinstance(case.body, dict):
        aim(case.body, desk)
    case.call_and_validate(headers={"Authorization": f"Token {desk['token']}"}, checks=CHECKS)
