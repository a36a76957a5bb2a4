"""The partition benchmark's data and measurements, on a tiny catalog."""

import numpy as np
import pytest

from search import partition_benchmark as bench
from search.benchmark_vectors import CHUNK, SeedRegions, synthetic_products
from search.models import ProductRegion, RegionHalfVector, RegionVector
from tests.search.vectors import indexed_product, random_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed() -> SeedRegions:
    """Twelve real-looking products: a photo row each, and a garment row for half of them."""
    rng = np.random.default_rng(3)
    product, position, region_class, product_class = [], [], [], []
    for i in range(12):
        garment_class = ("top", "footwear", "bag")[i % 3]
        for pos in range(1 + i % 2):
            product.append(i)
            position.append(pos)
            region_class.append("" if pos == 0 else garment_class)
            product_class.append(garment_class)
    vectors = np.stack([random_unit(rng) for _ in product])
    return SeedRegions(np.array(product), np.array(position), np.array(region_class),
                       np.array(product_class), vectors)


def test_synthetic_products_repeat_per_chunk_and_keep_the_real_layouts(seed):
    first = list(synthetic_products(seed, chunk=4))
    again = list(synthetic_products(seed, chunk=4))
    other = list(synthetic_products(seed, chunk=5))

    assert len(first) == CHUNK
    assert all(np.array_equal(a.regions[0][1], b.regions[0][1])
               for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0].regions[0][1], other[0].regions[0][1])
    for product in first:
        assert product.garment_class in ("top", "footwear", "bag")
        # The seed's garment rows are of their product's class, and so are the copies'.
        assert [name for name, _ in product.regions] in (
            [""], ["", product.garment_class])
        for _, vector in product.regions:
            assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5


def test_refuses_a_database_with_a_real_catalog(seed):
    indexed_product("MY-1", random_unit(np.random.default_rng(0)))
    with pytest.raises(bench.NotABenchmarkDatabase):
        bench.benchmark_catalog_load(seed, 100, progress=False)
    assert ProductRegion.objects.count() == 1


def test_builds_and_measures_the_three_layouts(seed):
    count = bench.benchmark_catalog_load(seed, 600, progress=False)
    assert count == ProductRegion.objects.count() >= 600
    assert RegionVector.objects.count() == RegionHalfVector.objects.count() == 0

    build = bench.layouts_build("64MB")
    results = bench.layouts_measure(seed, queries=3, progress=False)
    sizes = bench.layout_sizes()

    assert set(build) == set(sizes) == set(bench.LAYOUTS)
    assert RegionVector.objects.count() == RegionHalfVector.objects.count() == count
    assert sizes["partitioned halfvec"]["table"] < sizes["partitioned vector"]["table"]
    for result in results:
        for name in ("top", "footwear", "bag"):
            measured = result.classes[name]
            assert measured.count == 3
            assert measured.latency_ms[0] <= measured.latency_ms[1]
            assert 0.5 <= measured.recall <= 1.0
