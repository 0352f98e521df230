"""The OpenAPI description of the errors: what each operation may answer besides success.

Views declare the errors particular to them with `problems(...)`; `document_errors` (a
drf-spectacular postprocessing hook) adds those every operation shares, so the schema
lists every status code the API gives and a fuzzer finds none undocumented.
"""

from drf_spectacular.utils import OpenApiResponse

from .serializers import ErrorSerializer

DESCRIPTIONS = {
    400: "Invalid input: `errors` holds the messages of each field. Nothing was changed.",
    401: "No credentials, or a token that is unknown or revoked.",
    403: "Not allowed to do this to this ticket (the ticket page would not offer it).",
    404: "No such ticket, or one the user may not see: the two are not told apart.",
    409: "The ticket's state forbids it now (already closed, changed meanwhile).",
    413: "The request or one of its files is too large.",
    415: "The body is neither JSON nor, where files are accepted, multipart.",
    429: "Too many requests with this token: try again after Retry-After seconds.",
}
ERROR = {"$ref": "#/components/schemas/Error"}


def problems(*codes: int) -> dict:
    """extend_schema responses for the error codes an operation has of its own."""
    return {code: OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[code]) for code in codes}


def _response(code: int) -> dict:
    response = {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": ERROR}}}
    if code == 429:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
        }
    return response


def document_errors(result, generator, request, public):
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            codes = [429]
            if {} not in operation.get("security", [{}]):  # credentials required
                codes.append(401)
            if "requestBody" in operation:
                codes += [413, 415]
            for code in codes:
                responses.setdefault(str(code), _response(code))
    return result
