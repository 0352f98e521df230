"""Human ticket numbers: INC-<year>-<six digits>, counted per year."""

from django.db.models import F

from .models import TicketCounter


def next_ticket_number(year: int) -> str:
    """Hand out the next number for `year`. Call inside the transaction creating the ticket.

    The UPDATE locks the year's counter row until commit, so two intakes never share a
    number, on SQLite and PostgreSQL alike.
    """
    if not TicketCounter.objects.filter(year=year).update(value=F("value") + 1):
        TicketCounter.objects.get_or_create(year=year)
        TicketCounter.objects.filter(year=year).update(value=F("value") + 1)
    value = TicketCounter.objects.filter(year=year).values_list("value", flat=True).get()
    return f"INC-{year}-{value:06d}"
