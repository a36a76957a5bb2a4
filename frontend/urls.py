"""Top-level URL routes."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from frontend import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("search.urls")),
    path("dashboard/experiments/", include("frontend.urls_dashboard")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", views.catalog, name="catalog"),
    path("products/<str:sku>/", views.product_detail, name="product"),
    path("look/", views.look, name="look"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
