"""Catalog models: products and the editable category -> garment class mapping."""

from django.db import models

from shop.garment_classes import GarmentClass


class CategoryMapping(models.Model):
    """The garment class that products of one shop category belong to."""

    category = models.CharField(max_length=100, unique=True)
    garment_class = models.CharField(
        max_length=16,
        choices=GarmentClass.choices,
        blank=True,
        help_text="Leave empty for products that are not garments shoppers wear "
        "(underwear, cosmetics, sets): they are never matched to a detected region.",
    )

    class Meta:
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.category} -> {self.garment_class or 'no class'}"


class Product(models.Model):
    """One sellable article with its photo."""

    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    group = models.CharField(max_length=100, blank=True)
    colour = models.CharField(max_length=64, blank=True, db_index=True)
    garment_class = models.CharField(
        max_length=16, choices=GarmentClass.choices, blank=True, db_index=True
    )
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: not tracked.")
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Extra catalog columns, kept as they came."
    )
    # Images are stored under their content hash, so a re-import of the same photo
    # neither copies it again nor makes the indexer re-embed it.
    image = models.ImageField(upload_to="products/")
    image_width = models.PositiveIntegerField(default=0)
    image_height = models.PositiveIntegerField(default=0)
    image_sha256 = models.CharField(max_length=64, db_index=True)
    thumbnail = models.ImageField(upload_to="thumbnails/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"

    @property
    def thumbnail_url(self) -> str:
        """Return the URL of the list-size image (the photo itself when it is small)."""
        return (self.thumbnail or self.image).url
