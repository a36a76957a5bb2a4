"""Search API routes."""

from django.urls import path

from search.api import (
    EventsView,
    ExperimentResultsView,
    LookSearchView,
    SimilarProductsView,
    TextSearchView,
)

urlpatterns = [
    path("search", TextSearchView.as_view(), name="text-search"),
    path("search/image", LookSearchView.as_view(), name="look-search"),
    path("products/<str:sku>/similar", SimilarProductsView.as_view(), name="similar-products"),
    path("events", EventsView.as_view(), name="events"),
    path("experiments/<slug:key>/results", ExperimentResultsView.as_view(),
         name="experiment-results"),
]
