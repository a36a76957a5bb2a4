"""Index rows with hand-made vectors, to test retrieval without running the models."""

import numpy as np

from detection.local_matching import quantised
from search.models import EMBEDDING_DIMENSIONS, PhotoDescriptors, ProductRegion
from shop.models import Product

VERSION = "test-model"


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def random_unit(rng: np.random.Generator) -> np.ndarray:
    return unit(rng.standard_normal(EMBEDDING_DIMENSIONS))


def near(vector: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Return a unit vector about `noise` away from `vector`."""
    return unit(vector + noise * rng.standard_normal(EMBEDDING_DIMENSIONS) /
                np.sqrt(EMBEDDING_DIMENSIONS))


def indexed_product(sku: str, vector: np.ndarray, *, garment_class: str = "top",
                    regions: tuple[tuple[str, np.ndarray], ...] = (),
                    descriptors: np.ndarray | None = None, **fields) -> Product:
    """Create a product whose photo is indexed with `vector` (plus optional garment regions
    and the photo's local descriptors)."""
    product = Product.objects.create(sku=sku, title=fields.pop("title", sku),
                                     garment_class=garment_class, image=f"products/{sku}.jpg",
                                     image_sha256=sku.ljust(64, "0"), **fields)
    rows = [("", vector), *regions]
    created = ProductRegion.objects.bulk_create(
        ProductRegion(product=product, model_version=VERSION, image_sha256=product.image_sha256,
                      position=position, garment_class=region_class, box=[0, 0, 10, 10],
                      score=1.0, embedding=region_vector)
        for position, (region_class, region_vector) in enumerate(rows)
    )
    if descriptors is not None:
        PhotoDescriptors.objects.create(region=created[0], size=descriptors.shape[1],
                                        data=descriptors.tobytes())
    return product


def random_descriptors(rng: np.random.Generator, count: int = 12, size: int = 16) -> np.ndarray:
    """Return `count` unit-length local descriptors, as the embedder gives them (int8)."""
    descriptors = rng.standard_normal((count, size))
    return quantised(descriptors / np.linalg.norm(descriptors, axis=1, keepdims=True))
