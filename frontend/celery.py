"""The Celery app: workers that index product photos in batches taken from a Redis broker.

Run workers on any number of machines with the same settings as the web processes
(database, media storage, broker):

    celery -A frontend.celery worker --concurrency 1 --loglevel INFO

The broker holds only batches of product ids; photos and vectors stay in the shared media
storage and PostgreSQL. See docs/scaling.md.
"""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")

app = Celery("frontend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A batch is acknowledged only once it is written, so a worker that dies mid-batch
    # leaves it to another worker; one task at a time per process keeps the others free.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    # A batch that killed its worker process (out of memory, a crash in native code) is
    # failed rather than redelivered forever: a poison batch must not block the queue.
    task_reject_on_worker_lost=False,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=7 * 24 * 3600,
    # Redis redelivers an unacknowledged task after this long; far above any batch's time.
    broker_transport_options={"visibility_timeout": 3600},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # Loading the models (models_load below) takes longer than the default 4 s on a busy box.
    worker_proc_alive_timeout=180,
)
app.autodiscover_tasks()


@worker_process_init.connect
def models_load(**_kwargs) -> None:
    """Load the detector and embedder when a worker process starts, not in its first task."""
    from PIL import Image

    from detection.api import detect, embed

    blank = Image.new("RGB", (64, 64), (255, 255, 255))
    detect(blank)
    embed([blank])
