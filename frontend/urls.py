"""Top-level URL routes."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

from frontend import views
from search.api import api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("search.urls")),
    path("dashboard/experiments/", include("frontend.urls_dashboard")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Any other path under /api/ (a sku with a slash, a key that is not a slug) answers in the
    # API's error shape rather than Django's HTML page.
    re_path(r"^api/", api_not_found),
    path("", views.catalog, name="catalog"),
    path("products/<str:sku>/", views.product_detail, name="product"),
    path("look/", views.look, name="look"),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", serve,
                {"document_root": settings.MEDIA_ROOT}),
    ]
