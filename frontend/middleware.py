"""Give every browser a first-party visitor id, the unit experiments randomise."""

import re
import uuid

from django.conf import settings

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
