"""Shopper pages: the catalog, a product, shop the look."""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from frontend.db_router import replica_reads
from frontend.forms import CatalogFilterForm
from search.api import visitor_of
from search.serving import text_serve
from shop.models import Product
from shop.selectors import facet_values, product_list

PAGE_SIZE = 24


@replica_reads()
def catalog(request):
    """Browse or search the catalog, with filters and pagination."""
    form = CatalogFilterForm(request.GET or None, categories=facet_values("category"),
                             colours=facet_values("colour"))
    filters = form.filters() if form.is_valid() else None
    query = form.cleaned_data.get("q", "").strip() if filters else ""
    page_number = _page_number(request)
    request_id = None
    if query:
        page = text_serve(query=query, filters=filters, visitor=visitor_of(request),
                          page=page_number, page_size=PAGE_SIZE)
        products = _products_in_order([hit.sku for hit in page.hits])
        total, request_id = page.total, page.request_id
    else:
        queryset = product_list(conditions=filters.q() if filters else None)
        paginator = Paginator(queryset, PAGE_SIZE)
        products = list(paginator.get_page(page_number))
        total = paginator.count
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "frontend/catalog.html", {
        "form": form, "products": products, "query": query, "total": total,
        "page": min(page_number, pages), "pages": pages, "request_id": request_id,
        "querystring": _querystring_without_page(request),
    })


@replica_reads()
def product_detail(request, sku: str):
    """Show one product; its similar items load after the page."""
    product = get_object_or_404(Product, sku=sku)
    return render(request, "frontend/product.html", {"product": product})


def look(request):
    """Upload an outfit photo and shop each garment in it."""
    return render(request, "frontend/look.html", {
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "max_megabytes": settings.UPLOAD_MAX_BYTES // 2**20,
    })


def _page_number(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 1000))
    except ValueError:
        return 1


def _products_in_order(skus: list[str]) -> list[Product]:
    by_sku = Product.objects.in_bulk(skus, field_name="sku")
    return [by_sku[sku] for sku in skus if sku in by_sku]


def _querystring_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
