"""Per-request middleware: the visitor id experiments randomise, and database outages."""

import logging
import re
import uuid

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

from frontend.api_errors import error_response

logger = logging.getLogger(__name__)

VISITOR_COOKIE = "visitor"
_VALID_ID = re.compile(r"^[0-9a-f]{32}$")


class VisitorMiddleware:
    """Read the visitor cookie, or make a new id and set the cookie on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cookie = request.COOKIES.get(VISITOR_COOKIE, "")
        is_new = not _VALID_ID.match(cookie)
        request.visitor_id = uuid.uuid4().hex if is_new else cookie
        response = self.get_response(request)
        if is_new:
            response.set_cookie(VISITOR_COOKIE, request.visitor_id, max_age=365 * 24 * 3600,
                                samesite="Lax", httponly=True,
                                secure=not settings.DEBUG)
        return response


class DatabaseUnavailableMiddleware:
    """Answer 503 with Retry-After while the database is down, instead of a 500 page.

    A PostgreSQL restart or failover breaks the connections the workers hold; the request
    that finds its connection gone fails, and the next one reconnects (CONN_HEALTH_CHECKS).
    That request, and every request while the server is down, gets a clean 503 the client
    can retry: JSON in the API's error shape under /api/, a short page elsewhere.
    """

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("Database unavailable on %s %s: %s", request.method, request.path,
                       exception)
        message = "The database is unavailable; retry in a few seconds."
        if request.path.startswith("/api/"):
            response = error_response("database_unavailable", message, 503)
        else:
            response = HttpResponse(
                f"<!doctype html><title>Service unavailable</title><h1>Service unavailable"
                f"</h1><p>{message}</p>", status=503)
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
