from .models import Status, Ticket


def desk(request):
    """Queue badges for the navigation bar: two counts over open tickets (partial indexes)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    visible = Ticket.objects.visible_to(user)
    return {
        "nav_counts": {
            "current": visible.exclude(status=Status.CLOSED).count(),
            "evolution": visible.filter(status=Status.PENDING_DECISION).count(),
        }
    }
