"""Ranking variants (search.rankers)."""

from search.rankers import Candidate, RankingContext, visual_attributes, visual_category


def test_category_boost_reorders_close_matches_only_and_ignores_colour():
    candidates = [
        Candidate(product_id=1, relevance=0.90, category="T-shirt", colour="Red"),
        Candidate(product_id=2, relevance=0.87, category="Sweater", colour="Blue"),
        Candidate(product_id=3, relevance=0.70, category="Sweater", colour="Red"),
    ]
    context = RankingContext(category="Sweater", colour="Red")

    by_category = visual_category(candidates, context)
    assert by_category[1] > by_category[0] > by_category[2]
    # With colour too, the red t-shirt keeps its lead over the blue sweater.
    by_attributes = visual_attributes(candidates, context)
    assert by_attributes[0] > by_attributes[1]
