"""Index rows: one embedding for each product photo and for each garment found in it."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

from shop.garment_classes import GarmentClass
from shop.models import Product

# Length of the embedder's vectors (detection.embedder.VECTOR_SIZE); a test keeps them equal.
EMBEDDING_DIMENSIONS = 512
# Length of the text embedder's vectors (detection.text_embedder.TEXT_VECTOR_SIZE).
TEXT_EMBEDDING_DIMENSIONS = 384


class ProductRegion(models.Model):
    """An embedded part of a product photo: the whole photo (position 0) or a detected garment.

    Rows are written per product in one transaction and keyed by model version, so a product
    is either fully indexed by a model or not at all, and a model upgrade re-indexes
    without ever mixing vectors of two models in one search.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="regions")
    model_version = models.CharField(max_length=32)
    image_sha256 = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(help_text="0: the whole photo; 1..n: garments")
    garment_class = models.CharField(
        max_length=16, choices=GarmentClass.choices, blank=True,
        help_text="What the detector saw in this region (empty for the whole photo).",
    )
    box = ArrayField(models.FloatField(), size=4, help_text="x1, y1, x2, y2 in pixels")
    score = models.FloatField(help_text="detector confidence (1 for the whole photo)")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "model_version", "position"],
                                    name="one_row_per_product_region_model"),
        ]
        indexes = [
            HnswIndex(name="region_embedding_hnsw", fields=["embedding"], m=16,
                      ef_construction=64, opclasses=["vector_cosine_ops"]),
            models.Index(fields=["model_version", "image_sha256"], name="region_version_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position} {self.garment_class or 'photo'}"


class ProductText(models.Model):
    """A product's words, indexed twice: for full-text search and as a sentence embedding."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True,
                                   related_name="text_index")
    text_sha256 = models.CharField(max_length=64, help_text="hash of the text indexed")
    document = SearchVectorField()
    embedding = VectorField(dimensions=TEXT_EMBEDDING_DIMENSIONS)

    class Meta:
        indexes = [
            GinIndex(fields=["document"], name="product_text_document_gin"),
            HnswIndex(name="product_text_embedding_hnsw", fields=["embedding"], m=16,
                      ef_construction=64, opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self) -> str:
        return f"text of {self.product_id}"
