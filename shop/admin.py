"""Staff screens for the catalog."""

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from shop.models import CategoryMapping, Product
from shop.services import category_mapping_save


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("thumbnail_tag", "sku", "title", "garment_class", "category", "colour",
                    "price", "stock")
    list_display_links = ("thumbnail_tag", "sku")
    list_filter = ("garment_class", "category", "colour", "group")
    search_fields = ("sku", "title", "description")
    list_per_page = 50
    readonly_fields = ("image_tag", "image", "image_sha256", "image_width", "image_height",
                       "thumbnail", "garment_class", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("sku", "title", "description", "image_tag")}),
        ("Classification", {"fields": ("category", "group", "garment_class", "colour")}),
        ("Stock", {"fields": ("price", "stock")}),
        ("More", {"classes": ("collapse",),
                  "fields": ("attributes", "image", "image_sha256", "image_width",
                             "image_height", "thumbnail", "created_at", "updated_at")}),
    )

    @admin.display(description="Photo")
    def thumbnail_tag(self, product: Product) -> str:
        return format_html('<img src="{}" alt="" height="64" loading="lazy">',
                           product.thumbnail_url)

    @admin.display(description="Photo")
    def image_tag(self, product: Product) -> str:
        if not product.image:
            return "-"
        return format_html('<img src="{}" alt="{}" style="max-height:320px">',
                           product.image.url, product.title)


@admin.register(CategoryMapping)
class CategoryMappingAdmin(admin.ModelAdmin):
    list_display = ("category", "garment_class", "product_count")
    list_editable = ("garment_class",)
    list_filter = ("garment_class",)
    search_fields = ("category",)
    list_per_page = 200

    def get_queryset(self, request):
        products = (
            Product.objects.filter(category=OuterRef("category"))
            .order_by()
            .values("category")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return super().get_queryset(request).annotate(
            product_total=Coalesce(Subquery(products), 0)
        )

    @admin.display(description="Products", ordering="product_total")
    def product_count(self, mapping: CategoryMapping) -> int:
        return mapping.product_total

    def save_model(self, request, obj, form, change):
        relabelled = category_mapping_save(mapping=obj)
        if relabelled:
            messages.info(request, f"{obj.category}: {relabelled} products re-labelled.")
