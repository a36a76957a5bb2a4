"""gunicorn settings: `gunicorn frontend.wsgi:application -c frontend/gunicorn.conf.py`."""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# Each worker loads the detector and embedder once (about 300 MB); threads share them.
workers = int(os.environ.get("WEB_WORKERS", 2))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT", 60))
# An idle keep-alive connection is closed after this many seconds. It must outlast the
# pauses of the clients reusing it (a shopper between clicks, or the idle timeout of a
# proxy in front, often 60 s): closing a connection just as a request arrives on it resets
# that request (the load test saw 1.3% "connection reset by peer" with gunicorn's 2 s).
# gthread keeps idle connections in its poller, not in threads, so they cost little.
keepalive = int(os.environ.get("WEB_KEEPALIVE", 75))
# Recycle workers now and then so that memory stays bounded over weeks (0: never). While a
# worker is replaced the others carry its load, so fewer, larger recycles cost less tail
# latency (docs/benchmarks.md, load test); the jitter keeps workers from recycling together.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 2000))
max_requests_jitter = max_requests // 10
accesslog = "-"
