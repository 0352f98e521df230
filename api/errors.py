"""Every API error is JSON of one shape: {"detail": "...", "errors": {"<field>": ["..."]}}.

`errors` comes with input errors only. The desk's refusals (incidents.actions) map to
status codes: Refused 400, Forbidden 403, Conflict 409, TooLarge 413. A ticket the user
may not see is a 404, exactly like a missing one.
"""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from incidents.actions import Conflict, Forbidden, Refused, TooLarge

REFUSALS = [
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (Conflict, status.HTTP_409_CONFLICT),
    (TooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (Refused, status.HTTP_400_BAD_REQUEST),
]


def error(status_code: int, detail: str, errors: dict | None = None, **headers) -> Response:
    data = {"detail": detail}
    if errors:
        data["errors"] = errors
    return Response(data, status=status_code, headers=headers or None)


def handle(exc, context):
    """REST_FRAMEWORK EXCEPTION_HANDLER: DRF's own, plus the desk's refusals and sizes."""
    if isinstance(exc, Refused):
        code = next(code for kind, code in REFUSALS if isinstance(exc, kind))
        return error(code, exc.message, {exc.field: [exc.message]} if exc.field else None)
    if isinstance(exc, RequestDataTooBig | TooManyFilesSent):
        return error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, _("The request is too large."))
    if isinstance(exc, TooManyFieldsSent):
        return error(status.HTTP_400_BAD_REQUEST, _("The request has too many fields."))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()  # the same words for a missing ticket and a hidden one
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: a 500, reported as such
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": _("Invalid input."), "errors": fields}
    elif not (isinstance(response.data, dict) and "detail" in response.data):
        response.data = {"detail": str(exc), "errors": response.data}
    return response
