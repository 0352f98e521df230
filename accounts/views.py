from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import actions
from .forms import ProfileForm, SignupForm

SEARCH_LIMIT = 20


@login_required
def user_search(request):
    """People search as you type (reporters, watchers), for staff only: the people who
    open tickets for callers and the technicians of a service."""
    if not (request.user.has_perm("incidents.see_all_tickets") or request.user.has_perm("incidents.work_tickets")):
        raise Http404
    term = request.GET.get("q", "").strip()
    people = []
    if term:
        people = (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(
                Q(username__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(email__icontains=term)
            )
            .order_by("last_name", "first_name", "username")[:SEARCH_LIMIT]
        )
    return JsonResponse({"results": [{"value": p.pk, "text": f"{p} ({p.username})", "email": p.email} for p in people]})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.update_profile(
            request.user,
            language=data["language"],
            phone=data["phone"],
            quiet_hours_start=data["quiet_hours_start"],
            quiet_hours_end=data["quiet_hours_end"],
            preferences=form.preferences(),
        )
        messages.success(request, _("Your settings are saved."))
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


def signup(request):
    """Open sign-up, only where ALLOW_SIGNUP is set: a plain user account."""
    if not settings.ALLOW_SIGNUP:
        raise Http404
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = actions.sign_up(form)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("incidents:current")
    return render(request, "registration/signup.html", {"form": form})


@require_POST
def set_language(request):
    """Switch the interface language, and remember it on the profile of a logged-in user."""
    language = request.POST.get("language", "")
    target = request.POST.get("next", "/")
    host, https = {request.get_host()}, request.is_secure()
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts=host, require_https=https)
    if not safe:
        target = "/"
    response = HttpResponseRedirect(target)
    if language in dict(settings.LANGUAGES) and check_for_language(language):
        if request.user.is_authenticated:
            request.user.language = language
            request.user.save(update_fields=["language"])
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response
