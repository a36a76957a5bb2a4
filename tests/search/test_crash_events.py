"""kill -9 of the production server during event ingestion: each batch all there or absent."""

import http.client
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from search.models import Event, Impression
from tests.processes import Gunicorn

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

BATCHES = 200
BATCH_SIZE = 50
SKUS = [f"SKU-{index:05d}" for index in range(BATCH_SIZE)]


def event_id(batch: int, number: int) -> str:
    """An event id that says which batch it belongs to (its first field is the batch)."""
    return str(uuid.UUID(f"{batch:08x}-0000-4000-8000-{number:012x}"))


def batch_of(event: uuid.UUID) -> int:
    return int(str(event)[:8], 16)


def test_kill_9_during_event_ingestion_leaves_no_partial_batch(tmp_path):
    impression = Impression.objects.create(request_id=uuid.uuid4(), surface="similar",
                                           variant="visual", visitor_id="v" * 32, skus=SKUS)
    server = Gunicorn(tmp_path / "gunicorn.log")
    acknowledged: set[int] = set()
    kill_now = threading.Event()

    def send(batch: int) -> None:
        if kill_now.is_set():
            return
        events = [{"event_id": event_id(batch, number), "kind": "click",
                   "request_id": str(impression.request_id), "sku": sku, "position": number}
                  for number, sku in enumerate(SKUS)]
        try:
            status, _, body = server.request("POST", "/api/events", {"events": events})
        except (OSError, http.client.HTTPException):
            # The server died under this request: before answering (a reset), or between
            # the headers and the body (IncompleteRead); either way it was not acknowledged.
            return
        if status == 200:
            assert json.loads(body)["accepted"] == BATCH_SIZE
            acknowledged.add(batch)
            if len(acknowledged) >= BATCHES // 5:
                kill_now.set()

    try:
        server.wait_ready("/api/products/NOPE/similar")
        killer = threading.Thread(target=lambda: kill_now.wait(300) and server.kill())
        killer.start()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(send, range(BATCHES)))
        killer.join()
    finally:
        server.kill()

    assert kill_now.is_set(), f"not enough batches acknowledged:\n{server.log.read_text()}"
    stored: dict[int, int] = {}
    for stored_id in Event.objects.values_list("event_id", flat=True):
        stored[batch_of(stored_id)] = stored.get(batch_of(stored_id), 0) + 1
    partial = {batch: count for batch, count in stored.items() if count != BATCH_SIZE}
    assert partial == {}, "batches stored in part"
    assert acknowledged <= set(stored), "acknowledged batches lost"
    assert len(stored) < BATCHES, "the kill came after every batch was stored"
