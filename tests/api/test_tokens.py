"""Tokens: made on a web page, shown once, stored hashed, revoked by their owner."""

import pytest
from django.urls import reverse
from knox.crypto import hash_token
from knox.models import AuthToken

from api import actions as token_actions
from api.models import NamedToken
from incidents.actions import Forbidden, Refused

from .conftest import client_for

TOKENS = reverse("tokens:list")
API = reverse("api:ticket-list")


def make_token(client, name="Nightly export"):
    response = client.post(TOKENS, {"name": name})
    assert response.status_code == 200
    return response, response.context["secret"]


def test_the_profile_page_links_to_the_tokens(client, reporter):
    client.force_login(reporter)
    assert f'href="{TOKENS}"' in client.get(reverse("profile")).content.decode()


def test_a_token_is_shown_once_and_stored_hashed(client, reporter):
    client.force_login(reporter)
    response, secret = make_token(client)

    page = response.content.decode()
    assert secret in page and "only this once" in page
    assert "no-store" in response["Cache-Control"]
    row = AuthToken.objects.get(user=reporter)
    assert row.digest == hash_token(secret) and row.expiry is None
    assert secret not in {str(value) for value in AuthToken.objects.values().get().values()}
    assert NamedToken.objects.get(token=row).name == "Nightly export"

    again = client.get(TOKENS).content.decode()
    assert "Nightly export" in again and secret not in again and row.digest not in again

    api = client_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get(API).status_code == 200


def test_revoking_a_token_stops_it_at_once(client, reporter):
    client.force_login(reporter)
    _response, secret = make_token(client)
    api = client_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get(API).status_code == 200

    named = NamedToken.objects.get()
    response = client.post(reverse("tokens:revoke", args=[named.pk]), follow=True)
    assert "revoked" in response.content.decode()
    assert not AuthToken.objects.exists() and not NamedToken.objects.exists()

    refused = api.get(API)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid token."} and refused["WWW-Authenticate"] == "Token"


def test_nobody_revokes_someone_elses_token(client, reporter, other_reporter):
    secret = token_actions.create_token(by=other_reporter, name="theirs")[1]
    named = NamedToken.objects.get()
    client.force_login(reporter)
    assert client.post(reverse("tokens:revoke", args=[named.pk])).status_code == 404
    assert "theirs" not in client.get(TOKENS).content.decode()
    with pytest.raises(Forbidden):
        token_actions.revoke_token(named, by=reporter)
    api = client_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get(API).status_code == 200


def test_names_are_required_and_unique_per_user_and_tokens_limited(client, reporter, other_reporter, settings):
    client.force_login(reporter)
    make_token(client, "CI")
    duplicate = client.post(TOKENS, {"name": "CI"})
    assert "already have a token with this name" in duplicate.content.decode() and duplicate.context["secret"] is None
    token_actions.create_token(by=other_reporter, name="CI")  # another person's name is no clash
    with pytest.raises(Refused):
        token_actions.create_token(by=reporter, name="   ")

    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    make_token(client, "Second")
    third = client.post(TOKENS, {"name": "Third"})
    assert "revoke one first" in third.content.decode()
    assert AuthToken.objects.filter(user=reporter).count() == 2


def test_the_tokens_page_needs_a_login(client):
    response = client.get(TOKENS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "header",
    [None, "Token", "Token not-a-real-token", "Token a b", "Bearer abc"],
)
def test_missing_or_bad_credentials_are_401(header, ticket):
    api = client_for(None)
    if header:
        api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(API)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token" and response.json()["detail"]
    assert api.get(reverse("api:ticket-detail", kwargs={"number": ticket.number})).status_code == 401


def test_a_deactivated_users_token_stops_working(reporter):
    api = client_for(reporter)
    reporter.is_active = False
    reporter.save(update_fields=["is_active"])
    assert api.get(API).status_code == 401
