"""The alerts page for staff, and the admin that shows an integration's credentials once."""

import re

from django.contrib.auth import get_user_model

from alerts.models import Integration, Kind

from ..factories import Role, ServiceFactory, UserFactory
from .conftest import post_alerts, process_all
from .samples import am_alert, am_payload


def counts(page: str, integration) -> dict:
    row = re.search(rf'<tr id="integration-{integration.pk}">(.*?)</tr>', page, re.S).group(1)
    return dict(re.findall(r'data-count="(\w+)">([\d,]+)<', row))


def test_staff_see_each_integrations_alerts_waiting_open_tickets_and_refusals(client, alertmanager, operator):
    post_alerts(client, alertmanager, am_payload(am_alert("a"), am_alert("a"), am_alert("b")))
    process_all()
    post_alerts(client, alertmanager, am_payload(am_alert("c")))
    client.force_login(operator)
    page = client.get("/alerts/").content.decode()
    assert counts(page, alertmanager) == {"received": "4", "waiting": "1", "open": "2", "refused": "0"}
    assert f"/alerts/alertmanager/{alertmanager.pk}/" in page


def test_technicians_see_the_integrations_of_their_services_only(client, make_integration, dev_tech, net_tech):
    ours = make_integration(Kind.ALERTMANAGER, name="Dev Prometheus")
    theirs = make_integration(Kind.GRAFANA, name="Network Grafana", service=ServiceFactory(name="Network"))
    client.force_login(dev_tech)
    page = client.get("/alerts/").content.decode()
    assert ours.name in page and theirs.name not in page
    client.force_login(net_tech)
    page = client.get("/alerts/").content.decode()
    assert theirs.name in page and ours.name not in page


def test_reporters_may_not_see_the_alerts_page_and_strangers_must_log_in(client, alertmanager, reporter):
    assert client.get("/alerts/").status_code == 302
    client.force_login(reporter)
    assert client.get("/alerts/").status_code == 403


def test_the_admin_shows_the_token_once_and_keeps_only_its_digest(client, dev_service, intranet):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True, role=Role.ADMINISTRATOR)
    client.force_login(admin)
    response = client.post(
        "/admin/alerts/integration/add/",
        {
            "name": "Production Prometheus",
            "kind": Kind.ALERTMANAGER,
            "service": dev_service.pk,
            "application": intranet.pk,
            "bot": "",
            "severity_map": '{"critical": {"gravity": "severe", "criticality": "blocking"}}',
            "fingerprint_labels": "[]",
            "rate_limit": 1000,
            "is_active": "on",
        },
    )
    assert response.status_code == 200, response.content
    token = re.search(r'<code id="integration-token">([^<]+)</code>', response.content.decode()).group(1)
    assert "no-store" in response["Cache-Control"]
    integration = Integration.objects.get()
    assert token not in (integration.token_hash, integration.hmac_secret)
    bot = integration.bot
    assert bot.first_name == "Production Prometheus" and not bot.has_usable_password() and not bot.email
    assert token not in client.get(f"/admin/alerts/integration/{integration.pk}/change/").content.decode()
    integration.credentials = type("Shown", (), {"token": token})
    assert post_alerts(client, integration, am_payload(am_alert("a"))).status_code == 202


def test_the_admin_refuses_an_evolution_criticality_in_the_mapping(client, dev_service, intranet):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.post(
        "/admin/alerts/integration/add/",
        {
            "name": "Bad mapping",
            "kind": Kind.GENERIC,
            "service": dev_service.pk,
            "application": intranet.pk,
            "severity_map": '{"info": {"gravity": "minor", "criticality": "evolution"}}',
            "fingerprint_labels": "[]",
            "rate_limit": 10,
        },
    )
    assert response.status_code == 200 and b"criticality" in response.content
    assert not Integration.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="monitoring-").exists()
