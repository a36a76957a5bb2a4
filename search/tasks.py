"""Celery tasks: index a batch of products on whichever worker takes it."""

from django.db import IntegrityError, InterfaceError, OperationalError

from frontend.celery import app
from search.indexing import IndexBusy, products_batch_index

# Worth another try later: the database restarting or failing over, a local index run
# holding the index (IndexBusy), or another worker writing the same batch at the same
# moment (IntegrityError on the region rows; the retry then finds the batch done).
TRANSIENT_ERRORS = (OperationalError, InterfaceError, IntegrityError, IndexBusy)


@app.task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, max_retries=8,
          retry_backoff=2, retry_backoff_max=300, retry_jitter=True)
def index_products(self, product_ids: list[int]) -> dict:
    """Detect and embed the photos of those of `product_ids` that are still pending.

    Idempotent: products already indexed with the current model are skipped, so a batch
    delivered twice (a worker lost after writing, an operator re-enqueueing) changes nothing.
    """
    report = products_batch_index(product_ids)
    return {"pending": report.pending, "indexed": report.indexed, "regions": report.regions,
            "errors": report.errors, "worker": self.request.hostname}
