"""gunicorn settings: `gunicorn frontend.wsgi:application -c frontend/gunicorn.conf.py`."""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# Each worker loads the detector and embedder once (about 300 MB); threads share them.
workers = int(os.environ.get("WEB_WORKERS", 2))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT", 60))
# Recycle workers now and then so that memory stays bounded over weeks.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
