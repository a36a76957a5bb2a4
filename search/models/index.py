"""Index rows: one embedding for each product photo and for each garment found in it."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from shop.garment_classes import GarmentClass
from shop.models import Product

# Length of the embedder's vectors (detection.embedder.VECTOR_SIZE); a test keeps them equal.
EMBEDDING_DIMENSIONS = 512
# Length of the text embedder's vectors (detection.text_embedder.TEXT_VECTOR_SIZE).
TEXT_EMBEDDING_DIMENSIONS = 384


def class_graph_condition(garment_class: str) -> dict:
    """Return the lookups that select the regions a search of one product class compares:
    its products' whole photos and their garments of that class.

    They are the WHERE clause of the class's partial HNSW index; a query that repeats them
    lets the planner walk that small graph instead of filtering the big one.
    """
    return {"product_class": garment_class, "garment_class__in": ["", garment_class]}


def class_graph(garment_class: str) -> HnswIndex:
    """Return the HNSW index of the regions a search of one garment class compares.

    A class-filtered walk of the graph over every region discards most of what it visits
    when the class is rare or the query looks like another class (hundreds of ms on the
    20k-product catalog); a graph per class discards nothing. It holds a product's whole
    photo and its garments of its own class: a top's photo also shows shoes, but a shoe
    search must not find the top.
    """
    return HnswIndex(
        name=f"region_hnsw_{garment_class}", fields=["embedding"], m=16, ef_construction=64,
        opclasses=["vector_cosine_ops"],
        condition=Q(**class_graph_condition(garment_class)),
    )


class ProductRegion(models.Model):
    """An embedded part of a product photo: the whole photo (position 0) or a detected garment.

    Rows are written per product in one transaction and keyed by model version, so a product
    is either fully indexed by a model or not at all, and a model upgrade re-indexes
    without ever mixing vectors of two models in one search.
    """

    # No index of its own: the unique constraint below starts with product and serves every
    # lookup by product (cascading deletes included).
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="regions",
                                db_index=False)
    model_version = models.CharField(max_length=32)
    image_sha256 = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(help_text="0: the whole photo; 1..n: garments")
    garment_class = models.CharField(
        max_length=16, choices=GarmentClass.choices, blank=True,
        help_text="What the detector saw in this region (empty for the whole photo).",
    )
    product_class = models.CharField(
        max_length=16, choices=GarmentClass.choices, blank=True, default="", editable=False,
        help_text="The product's garment class, kept equal to it by database triggers "
                  "(migration 0005) for the per-class HNSW indexes.",
    )
    indexed_class = models.CharField(
        max_length=16, choices=GarmentClass.choices, blank=True, default="", editable=False,
        help_text="The product's garment class when it was indexed: only its garments of that "
                  "class are stored, so a product relabelled since then is indexed again.",
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
            *(class_graph(garment_class) for garment_class in GarmentClass.values),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position} {self.garment_class or 'photo'}"


class PhotoDescriptors(models.Model):
    """The local descriptors of an indexed whole photo, which similar items re-ranks with.

    Apart from `ProductRegion` so that its rows, and the vector searches over them, stay
    small: a photo's descriptors take 3-5 kB and are read for a few dozen candidates only.
    """

    # The database cascades deletes (migration 0010): nothing for Django to do.
    region = models.OneToOneField(ProductRegion, models.DO_NOTHING, primary_key=True,
                                  related_name="descriptors")
    size = models.PositiveSmallIntegerField(help_text="length of each descriptor")
    data = models.BinaryField(help_text="int8, one descriptor after another "
                                        "(detection.local_matching.quantised)")

    def __str__(self) -> str:
        return f"descriptors of {self.region_id}"


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
