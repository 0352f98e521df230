"""Log-in, reporter search, language preference, lockout."""

import pytest
from django.urls import reverse

from ..factories import UserFactory


def test_reporter_search_finds_people_for_operators(client, operator):
    UserFactory(username="jdupont", first_name="Jeanne", last_name="Dupont")
    UserFactory(username="other", first_name="Paul", last_name="Martin")
    client.force_login(operator)
    results = client.get(reverse("user-search"), {"q": "dupo"}).json()["results"]
    assert [r["text"] for r in results] == ["Jeanne Dupont (jdupont)"]
    assert client.get(reverse("user-search"), {"q": ""}).json()["results"] == []


@pytest.mark.parametrize("role", ["reporter", "other_reporter"])
def test_people_search_is_hidden_from_users_and_customers(role, request, client):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("user-search"), {"q": "a"}).status_code == 404


def test_technicians_search_people_to_add_as_watchers(client, dev_tech, reporter):
    client.force_login(dev_tech)
    assert client.get(reverse("user-search"), {"q": "reporter"}).json()["results"][0]["value"] == reporter.pk


def test_reporter_search_is_bounded(client, operator, django_assert_max_num_queries):
    UserFactory.create_batch(30, last_name="Durand")
    client.force_login(operator)
    with django_assert_max_num_queries(6):
        results = client.get(reverse("user-search"), {"q": "durand"}).json()["results"]
    assert len(results) == 20


def test_language_choice_is_saved_on_the_profile(client, reporter):
    client.force_login(reporter)
    response = client.post(reverse("set-language"), {"language": "fr", "next": "/tickets/"})
    assert response.status_code == 302 and response["Location"] == "/tickets/"
    reporter.refresh_from_db()
    assert reporter.language == "fr"
    assert '<html lang="fr"' in client.get("/tickets/").content.decode()


def test_language_switch_refuses_foreign_redirects_and_unknown_languages(client, reporter):
    client.force_login(reporter)
    response = client.post(reverse("set-language"), {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    reporter.refresh_from_db()
    assert reporter.language == ""


def test_login_page_and_login(client, reporter):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "reporter", "password": "secret-pass-123"})
    assert response.status_code == 302 and response["Location"] == reverse("incidents:current")


def test_repeated_failed_logins_lock_the_account_out(client, settings, reporter):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    for _attempt in range(3):
        client.post(reverse("login"), {"username": "reporter", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    response = client.post(
        reverse("login"), {"username": "reporter", "password": "secret-pass-123"}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
