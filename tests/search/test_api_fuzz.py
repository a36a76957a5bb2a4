"""Schemathesis: generated requests to every endpoint of the OpenAPI schema.

Runs against the real app (through WSGI, in this process) and the test database with a
small indexed catalog, so similar items and shop the look do real work. Every response must
be documented: no 5xx, a status code, content type and body the schema describes.
HYPOTHESIS_PROFILE=fuzz runs thousands of cases (see the README's test section).
"""

import io
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from rest_framework.throttling import ScopedRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from frontend.wsgi import application
from search.indexing import products_index
from search.models import Experiment, ExperimentVariant
from tests.properties import examples
from tests.search.catalog import generated_catalog_import, jpeg, outfit_photo

pytestmark = pytest.mark.django_db


# Every response is checked against the schema. (Schemathesis' checks that valid-looking
# input is accepted and invalid input refused are left out: rules across fields, such as
# price_min <= price_max or a box inside the photo, cannot be written in the schema.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


STATUSES: Counter = Counter()


def photo_bytes(format: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 64), (180, 40, 40)).save(out, format=format)
    return out.getvalue()


# Uploads are mostly real photos (so shop the look searches), sometimes any bytes at all.
schemathesis.openapi.format("binary", st.one_of(
    st.sampled_from([jpeg(outfit_photo()), photo_bytes("PNG"), photo_bytes("WEBP")]),
    st.binary(max_size=256),
))


@pytest.fixture
def api_schema(tmp_path, monkeypatch):
    # Thousands of requests from one address: the rate limits are not under test here.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                        dict.fromkeys(("look", "search", "events"), "1000000/min"))
    generated_catalog_import(tmp_path / "catalog")
    products_index()
    experiment = Experiment.objects.create(key="ranking", surface="similar", control="visual",
                                           status=Experiment.Status.RUNNING)
    ExperimentVariant.objects.create(experiment=experiment, ranker="visual", weight=1)
    # The real WSGI handler closes the database connection after each request; the test's
    # transaction lives on it (Django's own test client unhooks this the same way).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_every_endpoint_answers_as_documented(api_schema, admin_client):
    # One test for every operation, so the catalog is indexed once (schemathesis' pytest
    # plugin would also parametrize, but it does not work with pytest 9).
    staff_cookies = {"sessionid": admin_client.cookies["sessionid"].value}
    failures = {}
    labels = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                operation_fuzz(operation, mode, staff_cookies)
            except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all are reported
                failures[f"{operation.label} ({mode})"] = exc
            print(f"{operation.label} ({mode}) done: {STATUSES.total()} cases so far",
                  flush=True)
    # Shown with -s: how many cases each operation got, by response status.
    print("operations:", labels)
    print(f"{STATUSES.total()} cases:", *sorted(STATUSES.items()), sep="\n  ")
    assert not failures, "\n\n".join(f"{label}: {exc}" for label, exc in failures.items())


def operation_fuzz(operation, mode: GenerationMode, staff_cookies: dict) -> None:
    """Send generated requests to one operation and validate every response."""
    strategy = operation.as_strategy(generation_mode=mode)
    if "{sku}" in operation.path:
        # Mostly real products, so that similar items search rather than answer 404.
        strategy = st.one_of(strategy, *(
            operation.as_strategy(generation_mode=mode, path_parameters={"sku": sku})
            for sku in ("SKU-00000", "SKU-00002", "SKU-00004")))
    if operation.method.upper() == "GET":
        # Some requests as staff, who may see the experiment results.
        strategy = st.one_of(strategy, operation.as_strategy(
            generation_mode=mode, cookies=staff_cookies,
            path_parameters={"key": "ranking"} if "{key}" in operation.path else None))

    # 12 operation x mode pairs at a fifth of the profile each: 240 cases in CI, 4,800 fuzzing.
    @examples(fraction=0.2)
    @given(case=strategy)
    def check(case):
        response = case.call()
        STATUSES[f"{operation.label} {response.status_code}"] += 1
        case.validate_response(response, checks=CHECKS)

    check()
