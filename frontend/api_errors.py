"""One JSON shape for every API error: {"error": {"code", "message", "fields"?}}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc, context) -> Response | None:
    """Render DRF and Django errors as {"error": {...}}; leave others to Django (a 500)."""
    # DRF turns Django's own 404 and 403 into these; name them the same way.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = {name: [str(message) for message in _as_list(messages)]
                  for name, messages in detail.items()}
        first = next(iter(fields.items()))
        message = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        body = {"code": "invalid", "message": message, "fields": fields}
    else:
        code = getattr(exc, "default_code", "error")
        detail = getattr(exc, "detail", str(exc))
        body = {"code": getattr(detail, "code", None) or code, "message": str(detail)}
    response.data = {"error": body}
    return response


def error_response(code: str, message: str, status: int) -> JsonResponse:
    """Return an API error in the same shape, for answers given outside DRF's views."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _as_list(messages) -> list:
    if isinstance(messages, dict):
        return [f"{key}: {value}" for key, values in messages.items() for value in _as_list(values)]
    return messages if isinstance(messages, list) else [messages]
