"""WSGI entry point for production servers such as gunicorn (and for runserver)."""

import logging
import os
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
        logger.exception("warming up the models failed")


# Loading the models takes seconds (a first similar-items request once took 7.6 s). Pages
# are served meanwhile; a search that arrives first waits for the loading under way.
if settings.WARM_UP_MODELS:
    threading.Thread(target=_warm_up, name="models-warm-up", daemon=True).start()
