"""Cursor pages of tickets, most recently registered first, on the primary key."""

import binascii
from base64 import b64decode
from urllib import parse

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination

KEYS = {"o", "r", "p"}  # offset, reverse, position: what DRF puts in a cursor


class TicketCursor(CursorPagination):
    """Pages follow an opaque cursor (`next`, `previous`), never an offset into the list.

    The order is the primary key's: unique, so a cursor is exact, and indexed whatever the
    filters, where (created_at, id) has only partial indexes (open tickets, closed ones).
    Tickets get their number and id when registered, so this is newest first.

    DRF answers a garbled cursor with 404, which reads like "no such ticket", and passes a
    readable cursor's position to the database unchecked: here anything but a cursor DRF
    could have made is a 400 on the `cursor` field.
    """

    ordering = ("-id",)
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_cursor_message = _("This cursor was not given by the desk: start again without it.")

    def get_page_size(self, request):
        self.page_size = settings.FIREBREAK_PAGE_SIZE
        return super().get_page_size(request)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
            if set(tokens) - KEYS or any(len(values) != 1 for values in tokens.values()):
                raise ValueError(text)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = tokens.get("r", ["0"])[0]
            if offset < 0 or reverse not in ("0", "1"):
                raise ValueError(text)
            position = tokens.get("p", [None])[0]
            if position is not None:
                position = str(int(position))  # an id, as DRF writes it
                if not 0 < int(position) < 2**63:
                    raise ValueError(text)
        except (ValueError, UnicodeError, binascii.Error):
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from None
        return Cursor(offset=min(offset, self.offset_cutoff), reverse=reverse == "1", position=position)
