"""Shop the look with the shipped models, through the API and the command."""

import json
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from detection.regions import Region
from search import look
from search.filters import ProductFilters
from search.indexing import products_index
from tests.search.catalog import (
    PRODUCTS,
    generated_catalog_import,
    heic,
    jpeg,
    outfit_photo,
    product_photo,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed_catalog(tmp_path):
    generated_catalog_import(tmp_path / "catalog")
    products_index()
    return tmp_path / "catalog"


def post(client, image_bytes: bytes, **fields):
    upload = SimpleUploadedFile("outfit.jpg", image_bytes, content_type="image/jpeg")
    return client.post("/api/search/image", {"image": upload, **fields})


def assert_region_shape(region: dict, k: int) -> None:
    # The API adds the impression's request id, for reporting clicks; the command doesn't.
    assert set(region) - {"request_id"} == {"class", "box", "score", "results"}
    assert region["class"] in {None, "top", "outerwear", "bottom", "dress", "footwear", "bag",
                               "accessory"}
    assert len(region["box"]) == 4
    assert 0 < region["score"] <= 1
    assert len(region["results"]) <= k
    for hit in region["results"]:
        assert set(hit) == {"sku", "title", "score", "image_url"}
    scores = [hit["score"] for hit in region["results"]]
    assert scores == sorted(scores, reverse=True)


def test_outfit_photo_returns_regions_with_ranked_products(client, indexed_catalog):
    response = post(client, jpeg(outfit_photo()), k="3")

    assert response.status_code == 200, response.content
    regions = response.json()["regions"]
    assert regions
    for region in regions:
        assert_region_shape(region, k=3)
        x1, y1, x2, y2 = region["box"]
        assert 0 <= x1 < x2 <= 300
        assert 0 <= y1 < y2 <= 600


def test_an_iphone_heic_photo_is_searched_like_a_jpeg(client, indexed_catalog):
    from_jpeg = post(client, jpeg(outfit_photo()), k="3").json()["regions"]

    response = post(client, heic(outfit_photo()), k="3")

    assert response.status_code == 200, response.content
    regions = response.json()["regions"]
    assert [region["class"] for region in regions] == [region["class"] for region in from_jpeg]
    for region in regions:
        assert_region_shape(region, k=3)


def test_a_catalog_photo_finds_its_own_product_first(client, indexed_catalog, monkeypatch):
    # With nothing detected the whole photo is one region, searched in the class of the
    # products nearest to it: the generated catalog's only handbag.
    monkeypatch.setattr(look, "detect", lambda image: [])
    photo = (indexed_catalog / "images/4.jpg").read_bytes()

    (region,) = post(client, photo).json()["regions"]

    assert region["class"] == "bag"
    assert region["box"] == [0, 0, 200, 260]
    assert [hit["sku"] for hit in region["results"]] == ["SKU-00004"]
    assert region["results"][0]["score"] > 0.99


def test_with_a_class_filter_an_undetected_photo_searches_that_class(
    client, indexed_catalog, monkeypatch
):
    monkeypatch.setattr(look, "detect", lambda image: [])
    photo = (indexed_catalog / "images/4.jpg").read_bytes()

    (region,) = post(client, photo, **{"class": "top"}).json()["regions"]

    assert region["class"] == "top"
    tees = {f"SKU-{i:05d}" for i, product in enumerate(PRODUCTS) if product[0] == "Tshirts"}
    assert {hit["sku"] for hit in region["results"]} == tees


def test_the_vote_s_control_searches_the_detector_s_class_as_before(indexed_catalog,
                                                                    monkeypatch):
    # Nothing detected: without the vote the whole photo is searched across every class.
    monkeypatch.setattr(look, "detect", lambda image: [])
    photo = Image.open(indexed_catalog / "images/4.jpg")

    (voted,) = look.look_search(photo, rankers=("visual",))
    (control,) = look.look_search(photo, rankers=("visual_detector_class",))

    assert voted.garment_class == "bag"
    assert [hit.sku for hit in voted.results] == ["SKU-00004"]
    assert control.garment_class is None
    assert control.results[0].sku == "SKU-00004"
    assert len(control.results) == len(PRODUCTS)


def test_interleaving_the_vote_with_its_control_merges_both_lists(indexed_catalog,
                                                                  monkeypatch):
    monkeypatch.setattr(look, "detect", lambda image: [])
    photo = Image.open(indexed_catalog / "images/4.jpg")
    rankers = ("visual", "visual_detector_class")

    (region,) = look.look_search(photo, k=4, rankers=rankers, rng=random.Random(3))

    skus = [hit.sku for hit in region.results]
    assert skus[0] == "SKU-00004"  # first in both lists, so in the merged one
    assert len(skus) == len(set(skus)) == 4  # the control's list fills past the one bag
    assert len(region.teams) == 4
    assert set(region.teams) <= set(rankers)
    assert "visual_detector_class" in region.teams


def test_a_garment_the_detector_named_twice_is_shown_once(indexed_catalog, monkeypatch):
    # The detector calls one bag both bag and accessory; the catalog's vote says bag twice.
    bag = Region("bag", (0.0, 0.0, 140.0, 260.0), 0.9)
    named_twice = Region("accessory", (10.0, 10.0, 130.0, 250.0), 0.6)
    beside = Region("bag", (120.0, 0.0, 200.0, 100.0), 0.5)  # a quarter inside: another bag
    monkeypatch.setattr(look, "detect", lambda image: [bag, named_twice, beside])
    monkeypatch.setattr(look, "region_class", lambda detected, neighbours: "bag")
    photo = Image.open(indexed_catalog / "images/4.jpg")

    voted = look.look_search(photo, rankers=("visual",))
    control = look.look_search(photo, rankers=("visual_detector_class",))
    both = look.look_search(photo, rankers=("visual", "visual_detector_class"))

    assert [(r.garment_class, r.box) for r in voted] == [("bag", bag.box), ("bag", beside.box)]
    # Without the vote the two classes stay apart, so both are searched; under interleaving
    # a region is a repeat only if it is one under every ranker.
    assert [r.garment_class for r in control] == ["bag", "accessory", "bag"]
    assert len(both) == 3


def test_the_photo_s_colour_counts_more_than_in_the_index(indexed_catalog, monkeypatch):
    # A red photo that is not a tee's shape, searched among the tees: red and blue.
    monkeypatch.setattr(look, "detect", lambda image: [])
    photo = product_photo((200, 30, 40), "dress")
    tops = ProductFilters(garment_class="top")

    (boosted,) = look.look_search(photo, filters=tops, rankers=("visual",))
    (plain,) = look.look_search(photo, filters=tops, rankers=("visual_plain_colour",))

    def red_lead(region):
        scores = {hit.sku: hit.score for hit in region.results}
        return scores["SKU-00000"] - scores["SKU-00001"]

    assert [hit.sku for hit in boosted.results] == ["SKU-00000", "SKU-00001"]
    assert red_lead(boosted) > red_lead(plain)


def test_shoppers_box_searches_only_that_part(client, indexed_catalog):
    response = post(client, jpeg(outfit_photo()), box="50,260,250,520", k="2")

    (region,) = response.json()["regions"]
    assert region["box"] == [50, 260, 250, 520]
    assert_region_shape(region, k=2)
    assert region["results"]


def test_box_outside_the_photo_is_a_400(client, indexed_catalog):
    response = post(client, jpeg(outfit_photo()), box="400,700,500,800")
    assert response.status_code == 400
    assert "box" in response.json()["error"]["fields"]


def test_search_image_command_prints_the_api_shape(indexed_catalog, tmp_path, capsys):
    path = tmp_path / "outfit.jpg"
    path.write_bytes(jpeg(outfit_photo()))

    call_command("search_image", str(path), "--k", "2", "--json")

    regions = json.loads(capsys.readouterr().out)["regions"]
    assert regions
    for region in regions:
        assert_region_shape(region, k=2)


def test_a_running_experiment_logs_each_region_as_an_impression(client, indexed_catalog):
    from search.models import Experiment, ExperimentVariant, Impression

    experiment = Experiment.objects.create(key="look-test", surface="look", status="running",
                                           control="visual")
    ExperimentVariant.objects.create(experiment=experiment, ranker="visual")
    ExperimentVariant.objects.create(experiment=experiment, ranker="hybrid")

    regions = post(client, jpeg(outfit_photo())).json()["regions"]

    logged = {str(i.request_id): i for i in Impression.objects.filter(experiment=experiment)}
    assert set(logged) == {region["request_id"] for region in regions}
    for region in regions:
        impression = logged[region["request_id"]]
        assert impression.skus == [hit["sku"] for hit in region["results"]]
        assert impression.variant in {"visual", "hybrid"}
