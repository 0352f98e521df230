"""Requests per token in the shared cache: Redis with REDIS_URL, else files under var/.

Each token has its own allowance (API_RATE_LIMIT), so one runaway script does not lock out
its owner's other tools; the session counts per user, anonymous calls (the schema and its
page) per address (API_ANON_RATE_LIMIT). Past it: 429 with Retry-After.
"""

from django.conf import settings
from django.db import connection
from knox.models import AuthToken
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):
        # Rates are read per request (not at import like DRF's), so settings can change them.
        pass

    def allow_request(self, request, view):
        authenticated = request.user and request.user.is_authenticated
        self.rate = settings.API_RATE_LIMIT if authenticated else settings.API_ANON_RATE_LIMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, AuthToken):
            ident = f"token:{request.auth.digest[:32]}"  # the digest: no part of the secret in the cache
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"address:{self.get_ident(request)}"
        # The database's name keeps desks (or test runs) that share one Redis apart.
        return f"firebreak-api:{connection.settings_dict['NAME']}:{ident}"
