"""API tokens: made (their secret shown once), revoked. Ticket changes are incidents.actions.

A token lives as long as its owner keeps it (REST_KNOX TOKEN_TTL is None): revoking deletes
it, and the next request that carries it gets a 401.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from knox.models import AuthToken
from knox.settings import knox_settings

from incidents.actions import Forbidden, Refused

from .models import NamedToken


@transaction.atomic
def create_token(*, by, name: str) -> tuple[NamedToken, str]:
    """Make an API token for `by`; return it and its secret, which is stored only as a
    digest and so can be shown this once.

    Refuses: a blank name, a name `by` already gave another token, more tokens than
    REST_KNOX TOKEN_LIMIT_PER_USER.
    """
    name = (name or "").strip()
    if not name:
        raise Refused(_("Name the token after the script or tool that will use it."), field="name")
    if NamedToken.objects.filter(user=by, name=name).exists():
        raise Refused(_("You already have a token with this name."), field="name")
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    if limit is not None and AuthToken.objects.filter(user=by).count() >= limit:
        raise Refused(_("You have %(count)d tokens, the most allowed: revoke one first.") % {"count": limit})
    token, secret = AuthToken.objects.create(user=by)
    return NamedToken.objects.create(token=token, user=by, name=name), secret


@transaction.atomic
def revoke_token(named: NamedToken, *, by) -> None:
    """Delete one of `by`'s tokens: it stops working at once. Refuses: someone else's token."""
    if named.user_id != by.pk:
        raise Forbidden(_("This token is not yours."))
    AuthToken.objects.filter(digest=named.token_id).delete()  # cascades to the name
