"""The search benchmark's measurements of the index itself."""

import numpy as np
import pytest

from search import benchmark
from shop.garment_classes import GarmentClass
from tests.search.vectors import indexed_product, random_unit

pytestmark = pytest.mark.django_db


def test_index_sizes_count_the_full_graph_and_every_class_graph():
    rng = np.random.default_rng(3)
    for i in range(30):
        indexed_product(f"P-{i:02d}", random_unit(rng),
                        garment_class=GarmentClass.values[i % len(GarmentClass.values)])

    names = benchmark.hnsw_indexes()
    # The rebuild drops pages that earlier tests' rolled-back rows left in the graphs (HNSW
    # indexes never shrink), so the sizes below depend on these 30 rows only.
    assert benchmark.hnsw_build_seconds() > 0
    sizes = benchmark.index_sizes()

    assert names == sorted(["region_embedding_hnsw",
                            *(f"region_hnsw_{name}" for name in GarmentClass.values)])
    assert sizes["hnsw"] > 0
    assert sizes["class_graphs"] > sizes["hnsw"]  # seven graphs, each with its own pages
    assert sizes["table_with_indexes"] > sizes["hnsw"] + sizes["class_graphs"]


def test_the_class_vote_is_timed_once_per_photo(tmp_path):
    from search.indexing import products_index
    from tests.search.catalog import generated_catalog_import, outfit_photo

    generated_catalog_import(tmp_path / "catalog")
    products_index()
    photos = []
    for number in range(3):
        photos.append(tmp_path / f"outfit{number}.jpg")
        outfit_photo().save(photos[-1])

    timing = benchmark.class_vote_latency(photos)

    assert timing.count == 3
    assert 0 < timing.p50_ms <= timing.p95_ms
