"""Search app models: the vector index and the ranking experiments."""

from search.models.experiments import (
    Event,
    Experiment,
    ExperimentVariant,
    Exposure,
    Impression,
)
from search.models.index import (
    EMBEDDING_DIMENSIONS,
    TEXT_EMBEDDING_DIMENSIONS,
    PhotoDescriptors,
    ProductRegion,
    ProductText,
)
from search.models.partitioned import RegionHalfVector, RegionVector
from search.models.query_photos import QueryPhoto

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "TEXT_EMBEDDING_DIMENSIONS",
    "Event",
    "Experiment",
    "ExperimentVariant",
    "Exposure",
    "Impression",
    "PhotoDescriptors",
    "ProductRegion",
    "ProductText",
    "QueryPhoto",
    "RegionHalfVector",
    "RegionVector",
]
