"""JSON request bodies within the size Django allows a form; larger ones are a 413."""

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser reads the whole body, whatever its size: stop past
    DATA_UPLOAD_MAX_MEMORY_SIZE, as Django does for forms (answered 413 by api.errors)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise RequestDataTooBig("The request body exceeded DATA_UPLOAD_MAX_MEMORY_SIZE.")
            stream = io.BytesIO(body)
        return super().parse(stream, media_type, parser_context)
