"""Region vectors for the partition benchmark: real indexed regions, grown into a big catalog.

Embedding 100k+ photos takes hours on two CPU cores, so the benchmark starts from the
regions of a really indexed catalog (`benchmark_partitions export`): their vectors, the
classes the detector gave them, the garment class of their product and how many regions
each product has. Each synthetic product copies one real product's layout (its class and
its regions' classes); each of its vectors mixes the real region's vector with another
real vector of the same class and adds noise, so the classes keep the real embedder's
geometry and the catalog's class mix while no two products are the same.
"""

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.models import ProductRegion

# Products generated per chunk; chunk n always comes out of the same random stream, so an
# interrupted load resumes with exactly the products it would have made.
CHUNK = 500


@dataclass(frozen=True)
class SeedRegions:
    """Real index rows: one per region, grouped by product."""

    product: np.ndarray  # product id of each row
    position: np.ndarray
    region_class: np.ndarray
    product_class: np.ndarray
    vectors: np.ndarray  # (n, 512) float32, unit length

    def products(self) -> list[np.ndarray]:
        """Return the row numbers of each product's regions."""
        order = np.argsort(self.product, kind="stable")
        _, starts = np.unique(self.product[order], return_index=True)
        return np.split(order, starts[1:])

    def class_rows(self, name: str) -> np.ndarray:
        """Return the rows showing garment class `name` (by region, else by product)."""
        rows = np.flatnonzero((self.region_class == name) |
                              ((self.position == 0) & (self.product_class == name)))
        return rows if len(rows) else np.arange(len(self.vectors))


def seed_regions_export(path: Path, model_version: str) -> int:
    """Write the indexed regions of `model_version` to `path` (.npz); return how many."""
    rows = list(ProductRegion.objects.filter(model_version=model_version).order_by("pk")
                .values_list("product_id", "position", "garment_class",
                             "product__garment_class", "embedding"))
    if not rows:
        return 0
    product, position, region_class, product_class, vectors = zip(*rows, strict=True)
    np.savez(path, product=np.array(product), position=np.array(position),
             region_class=np.array(region_class), product_class=np.array(product_class),
             vectors=np.stack([np.asarray(v, dtype=np.float32) for v in vectors]))
    return len(rows)


def seed_regions_load(path: Path) -> SeedRegions:
    """Read regions written by `seed_regions_export`."""
    with np.load(path) as saved:
        return SeedRegions(saved["product"], saved["position"], saved["region_class"],
                           saved["product_class"], saved["vectors"].astype(np.float32))


@dataclass(frozen=True)
class SyntheticProduct:
    garment_class: str
    regions: list[tuple[str, np.ndarray]]  # (region class, vector); position = list index


def synthetic_products(seed: SeedRegions, *, chunk: int, random_seed: int = 0,
                       noise: float = 0.5) -> Iterator[SyntheticProduct]:
    """Yield the CHUNK products of chunk number `chunk`, the same ones on every call."""
    rng = np.random.default_rng([random_seed, chunk])
    layouts = seed.products()
    by_class: dict[str, np.ndarray] = {}
    dims = seed.vectors.shape[1]
    for layout in (layouts[i] for i in rng.integers(0, len(layouts), CHUNK)):
        product_class = str(seed.product_class[layout[0]])
        regions = []
        for row in layout:
            region_class = str(seed.region_class[row])
            name = region_class or product_class
            pool = by_class.setdefault(name, seed.class_rows(name))
            weight = rng.uniform(0.55, 1.0)
            mixed = (weight * seed.vectors[row] +
                     (1 - weight) * seed.vectors[pool[rng.integers(len(pool))]] +
                     noise * rng.standard_normal(dims).astype(np.float32) / np.sqrt(dims))
            regions.append((region_class, (mixed / np.linalg.norm(mixed)).astype(np.float32)))
        yield SyntheticProduct(product_class, regions)


def query_vectors(seed: SeedRegions, garment_class: str, count: int, *,
                  random_seed: int = 1, noise: float = 0.5) -> np.ndarray:
    """Return `count` unit vectors near real regions of `garment_class` (shopper photos)."""
    rng = np.random.default_rng([random_seed, zlib.crc32(garment_class.encode())])
    rows = seed.class_rows(garment_class)
    picked = seed.vectors[rng.choice(rows, count)]
    dims = picked.shape[1]
    moved = picked + noise * rng.standard_normal(picked.shape).astype(np.float32) / np.sqrt(dims)
    return (moved / np.linalg.norm(moved, axis=1, keepdims=True)).astype(np.float32)
