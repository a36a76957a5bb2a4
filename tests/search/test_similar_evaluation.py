"""Similar items scored offline against the catalog's labels (search.similar_evaluation)."""

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from search import similar, similar_evaluation
from search.similar_evaluation import similar_evaluate
from tests.search.vectors import VERSION, indexed_product, unit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def test_model_version(monkeypatch):
    for module in (similar, similar_evaluation):
        monkeypatch.setattr(module, "model_version", lambda: VERSION)


def axis(index: int) -> np.ndarray:
    vector = np.zeros(512, dtype=np.float32)
    vector[index] = 1.0
    return vector


@pytest.fixture
def sweaters():
    """Two colour variants of one sweater, and a t-shirt a little closer to the first."""
    first = axis(0)
    indexed_product("SWEATER-RED", first, category="Sweater", colour="Red",
                    attributes={"family": "1"})
    indexed_product("TSHIRT-RED", unit(first + 0.30 * axis(1)), category="T-shirt",
                    colour="Red")
    indexed_product("SWEATER-BLUE", unit(first + 0.35 * axis(2)), category="Sweater",
                    colour="Blue", attributes={"family": "1"})


def test_scores_each_ranker_on_the_products_with_a_sibling(sweaters):
    scores = similar_evaluate(rankers=("visual", "visual_category"), k=2)

    plain, by_category = scores["visual"], scores["visual_category"]
    # Only the two sweaters have a sibling; the t-shirt is no query.
    assert plain.queries == by_category.queries == 2
    # By vector, the red sweater's nearest is the red t-shirt; the blue one's is its sibling.
    assert plain.family_recall_at_1 == 0.5
    # Nudged by category, the sibling comes first for both.
    assert by_category.family_recall_at_1 == 1.0
    assert plain.family_recall_at_k == by_category.family_recall_at_k == 1.0
    # Each list holds the sibling (same category, other colour) and the t-shirt.
    assert plain.category_precision == by_category.category_precision == 0.5
    assert by_category.category_colour_precision == 0.0
    assert by_category.latency_p50_ms > 0


def test_without_families_every_product_is_a_query_and_recall_is_not_scored():
    for index, category in enumerate(("Sweater", "Sweater", "T-shirt")):
        indexed_product(f"P{index}", unit(axis(0) + 0.3 * axis(index + 1)), category=category)

    scores = similar_evaluate(rankers=("visual",), k=2)["visual"]

    assert scores.queries == 3
    assert scores.family_recall_at_1 is None
    assert scores.category_precision == pytest.approx((1 + 1 + 0) / 6)


def test_command_prints_a_row_per_ranker(sweaters, capsys):
    call_command("evaluate_similar", "--ranker", "visual", "--ranker", "visual_category",
                 "--k", "2")

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ranker", "queries", "family"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["visual", "2", "0.500"], ["visual_category", "2", "1.000"]]


def test_a_prefix_without_siblings_queries_all_its_products(sweaters):
    scores = similar_evaluate(rankers=("visual",), k=2, sku_prefix="TSHIRT")["visual"]

    assert scores.queries == 1
    assert scores.family_recall_at_1 is None
    assert scores.category_precision == 0.0


def test_command_refuses_unknown_rankers_and_an_empty_index():
    with pytest.raises(CommandError, match="unknown ranker"):
        call_command("evaluate_similar", "--ranker", "nope")
    with pytest.raises(CommandError, match=r"run `manage\.py index` first"):
        call_command("evaluate_similar")
