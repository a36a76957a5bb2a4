"""The staff dashboard shows results tables, charts, the SRM warning and a CSV export."""

import csv
import io

import numpy as np
import pytest

from search import similar
from search.models import Exposure
from search.simulation import traffic_simulate
from tests.search.test_experiments import experiment
from tests.search.vectors import VERSION, indexed_product, random_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(monkeypatch):
    monkeypatch.setattr(similar, "model_version", lambda: VERSION)
    rng = np.random.default_rng(2)
    for i in range(15):
        indexed_product(f"P-{i:02d}", random_unit(rng))
    created = experiment(key="carousel", weights=(("visual", 1), ("hybrid", 1)))
    traffic_simulate(experiment=created, visitors=40, lift=0.3, seed=3)
    return created


def test_dashboard_renders_table_and_charts(admin_client, running):
    page = admin_client.get("/dashboard/experiments/carousel/").content.decode()

    assert "carousel" in page
    assert page.count("<svg") == 2
    assert "Clicks per impression, by day" in page
    assert "Lift against visual" in page
    assert "hybrid" in page
    assert "Sample ratio mismatch" not in page


def test_sample_ratio_mismatch_is_shown(admin_client, running):
    Exposure.objects.bulk_create(Exposure(experiment=running, visitor_id=f"x{i}",
                                          variant="hybrid") for i in range(400))

    page = admin_client.get("/dashboard/experiments/carousel/").content.decode()

    assert "Sample ratio mismatch" in page


def test_csv_export(admin_client, running):
    response = admin_client.get("/dashboard/experiments/carousel/results.csv")

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {row["variant"] for row in rows} == {"visual", "hybrid"}
    assert {row["metric"] for row in rows} == {"ctr", "add_to_cart_rate",
                                               "clicks_per_impression", "mrr"}
    assert all(row["lift"] for row in rows if row["variant"] == "hybrid")


def test_dashboard_is_for_staff_only(client, running):
    response = client.get("/dashboard/experiments/carousel/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_results_api(admin_client, client, running):
    body = admin_client.get("/api/experiments/carousel/results").json()
    assert body["control"] == "visual"
    assert {v["name"] for v in body["variants"]} == {"visual", "hybrid"}
    assert body["sample_ratio"]["p_value"] > 0.001
    assert client.get("/api/experiments/carousel/results").status_code == 403


def test_experiment_admin_links_to_dashboard(admin_client, running):
    page = admin_client.get("/admin/search/experiment/").content.decode()
    assert 'href="/dashboard/experiments/carousel/"' in page


def test_table_columns_match_their_headers(admin_client, running):
    import re

    page = admin_client.get("/dashboard/experiments/carousel/").content.decode()

    headers = re.findall(r'<th scope="col">([^<]+)</th>', page)
    first_row = re.findall(r'<td data-metric="(\w+)">', page)[:4]
    assert headers == ["CTR", "Add-to-cart rate", "Clicks / impression", "MRR of clicks"]
    assert first_row == ["ctr", "add_to_cart_rate", "clicks_per_impression", "mrr"]
