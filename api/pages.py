"""The web page where people make, list and revoke their API tokens (linked from their
settings). A new token's secret is in the answer to the POST that made it, and nowhere
else: it is not stored, only its digest is."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from incidents.actions import Refused

from . import actions
from .forms import TokenForm
from .models import NamedToken


@login_required
def token_list(request):
    form = TokenForm(request.POST or None)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = actions.create_token(by=request.user, name=form.cleaned_data["name"])
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            form = TokenForm()
    tokens = NamedToken.objects.filter(user=request.user).select_related("token").order_by("-token__created")
    context = {"form": form, "tokens": tokens, "created": created, "secret": secret}
    response = render(request, "api/tokens.html", context)
    add_never_cache_headers(response)  # the secret must not stay in a cache
    return response


@login_required
@require_POST
def token_revoke(request, pk):
    named = get_object_or_404(NamedToken.objects.filter(user=request.user), pk=pk)
    actions.revoke_token(named, by=request.user)
    messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": named.name})
    return redirect("tokens:list")
