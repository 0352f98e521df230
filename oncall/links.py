"""The acknowledge link of a page: signed, expiring, naming the page and the person paged.

The link is the credential (it works from a phone without a session), so it says whose
acknowledgement it carries; the row decides whether it is still needed (single use).
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "oncall.acknowledge"
MAX_AGE = 3600  # seconds from the message being sent; afterwards the ticket page still works
SEP = "."  # not ":", which some phones do not keep in a link


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=SEP)


def make_token(page) -> str:
    return _signer().sign(f"{page.pk}-{page.user_id}")


def read_token(token: str) -> tuple[int, int]:
    """(page id, user id) of a token; raises signing.SignatureExpired or BadSignature."""
    value = _signer().unsign(token, max_age=MAX_AGE)
    page_id, _sep, user_id = value.partition("-")
    if not (page_id.isdigit() and user_id.isdigit()):
        raise signing.BadSignature("malformed")
    return int(page_id), int(user_id)


def acknowledge_url(page) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("oncall:acknowledge", args=[make_token(page)])
