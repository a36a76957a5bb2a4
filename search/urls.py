"""Search API routes."""

from django.urls import path

from search.api import LookSearchView, SimilarProductsView, TextSearchView

urlpatterns = [
    path("search", TextSearchView.as_view(), name="text-search"),
    path("search/image", LookSearchView.as_view(), name="look-search"),
    path("products/<str:sku>/similar", SimilarProductsView.as_view(), name="similar-products"),
]
