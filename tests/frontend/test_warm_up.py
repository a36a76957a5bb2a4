"""A web process loads its models when it starts, not on its first shopper's request."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Import the WSGI module as gunicorn does, wait for the warm-up, report what is loaded.
PROBE = """
import threading
import frontend.wsgi
for thread in threading.enumerate():
    if thread.name == "models-warm-up":
        thread.join()
from detection import api
from detection.text_embedder import _text_embedder
print(api._detector.cache_info().currsize, api._embedder.cache_info().currsize,
      _text_embedder.cache_info().currsize)
"""


def loaded_models(warm_up: str) -> list[str]:
    env = os.environ | {"WARM_UP_MODELS": warm_up}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return done.stdout.split()


def test_the_wsgi_application_warms_the_models_up():
    assert loaded_models("true") == ["1", "1", "1"]


def test_warm_up_can_be_switched_off():
    assert loaded_models("false") == ["0", "0", "0"]
