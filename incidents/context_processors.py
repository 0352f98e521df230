from .models import Status, Ticket


def desk(request):
    """Queue badges for the navigation bar, and whether open sign-up is offered."""
    from django.conf import settings

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"ALLOW_SIGNUP": settings.ALLOW_SIGNUP}
    return {"ALLOW_SIGNUP": settings.ALLOW_SIGNUP, **_counts(user)}


def _counts(user):
    """Two counts over open tickets (partial indexes)."""
    visible = Ticket.objects.visible_to(user)
    return {
        "nav_counts": {
            "current": visible.filter(status=Status.OPEN).count(),
            "evolution": visible.filter(status=Status.PENDING_DECISION).count(),
        }
    }
