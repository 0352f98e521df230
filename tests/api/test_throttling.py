"""Requests are limited per token, in the shared cache: past the limit, 429 with Retry-After."""

from django.urls import reverse

from .conftest import client_for, token_for

API = reverse("api:ticket-list")


def test_429_after_the_limit_with_retry_after(reporter, settings):
    settings.API_RATE_LIMIT = "3/minute"
    client = client_for(reporter)
    assert [client.get(API).status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(API)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()
    # Writes count too, and are refused before anything happens.
    assert client.post(API, {}).status_code == 429


def test_each_token_has_its_own_allowance(reporter, other_reporter, settings):
    settings.API_RATE_LIMIT = "2/minute"
    first, second = client_for(reporter), client_for(None)
    second.credentials(HTTP_AUTHORIZATION=f"Token {token_for(reporter, 'second script')}")
    assert [first.get(API).status_code for _ in range(3)] == [200, 200, 429]
    assert second.get(API).status_code == 200  # the same person's other token
    assert client_for(other_reporter).get(API).status_code == 200


def test_the_session_counts_per_user(reporter, settings):
    from rest_framework.test import APIClient

    settings.API_RATE_LIMIT = "1/minute"
    client = APIClient()
    client.force_login(reporter)
    assert [client.get(API).status_code for _ in range(2)] == [200, 429]


def test_the_limit_is_counted_in_the_configured_cache_not_per_process():
    """LocMemCache would give every gunicorn worker its own count (STACK.md 3.9)."""
    from config import settings as configured

    assert configured.CACHES["default"]["BACKEND"] in {
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.filebased.FileBasedCache",
    }


def test_a_rate_the_throttle_cannot_read_is_refused_at_start_up(settings):
    from api.checks import rate_limits

    assert rate_limits(None) == []
    settings.API_RATE_LIMIT = "lots"
    assert [error.id for error in rate_limits(None)] == ["api.E001"]
