"""WSGI entry point for production servers such as gunicorn (and for runserver)."""

import logging
import os
import sys
import threading

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")
application = get_wsgi_application()
logger = logging.getLogger(__name__)


def _warm_up() -> None:
    from detection.api import models_warm_up

    try:
        models_warm_up()
    except Exception:  # a model that fails here fails again, visibly, on its first request
        if _process_exiting():
            # A worker stopped before its models had loaded: imports fail half-way through
            # the interpreter's teardown, and there is nothing left to warm up for.
            logger.info("warming up the models stopped: the process is exiting")
            return
        logger.exception("warming up the models failed")


def _process_exiting() -> bool:
    """Return True once the interpreter has begun to shut down."""
    # The main thread is marked finished as soon as shutdown starts, before atexit handlers.
    return sys.is_finalizing() or not threading.main_thread().is_alive()


# Loading the models takes seconds (a first similar-items request once took 7.6 s). Pages
# are served meanwhile; a search that arrives first waits for the loading under way.
if settings.WARM_UP_MODELS:
    threading.Thread(target=_warm_up, name="models-warm-up", daemon=True).start()
