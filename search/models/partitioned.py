"""Region vectors partitioned by the product's garment class: one HNSW graph per class.

A read-side copy of `ProductRegion` that `search.partitioned` searches. The tables are
created by SQL in migration 0003 (PostgreSQL declarative partitioning is not something
Django models express). They are managed models all the same so that Django's flush (after
each transactional test) empties them with the tables their foreign keys point to, which
PostgreSQL requires; database triggers keep them in step with
`ProductRegion` once `region_vectors_enable` has filled one (see search/partitioned.py).
"""

from django.db import models
from pgvector.django import HalfVectorField, VectorField

from search.models.index import EMBEDDING_DIMENSIONS, ProductRegion
from shop.models import Product


class PartitionedRegion(models.Model):
    """Columns shared by both storages; the partition key is the product's garment class."""

    # The database cascades deletes (foreign keys ON DELETE CASCADE): nothing to do here.
    region = models.OneToOneField(ProductRegion, models.DO_NOTHING, primary_key=True,
                                  related_name="+")
    product = models.ForeignKey(Product, models.DO_NOTHING, related_name="+")
    product_class = models.CharField(max_length=16, blank=True)
    region_class = models.CharField(max_length=16, blank=True)
    position = models.PositiveSmallIntegerField()
    model_version = models.CharField(max_length=32)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position} {self.product_class or 'no class'}"


class RegionVector(PartitionedRegion):
    """A region's embedding in single precision (4 bytes a dimension)."""

    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)

    class Meta:
        db_table = "search_regionvector"


class RegionHalfVector(PartitionedRegion):
    """A region's embedding in half precision (2 bytes a dimension)."""

    embedding = HalfVectorField(dimensions=EMBEDDING_DIMENSIONS)

    class Meta:
        db_table = "search_regionhalfvec"
