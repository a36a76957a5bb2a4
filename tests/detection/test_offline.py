"""Nothing downloads at run time: every model loads and runs with the network blocked."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter, so that the models really load there, after any attempt
# to open a network connection has been made to fail loudly.
OFFLINE_RUN = """
import socket

class NetworkBlocked(RuntimeError):
    pass

def refuse(*args, **kwargs):
    raise NetworkBlocked(f"network access attempted: {args!r}")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from PIL import Image
from detection.api import detect, embed
from detection.text_embedder import embed_texts

photo = Image.new("RGB", (320, 480), (200, 60, 60))
regions = detect(photo)
vectors = embed([photo])
texts = embed_texts(["red shirt"])
print("ok", len(regions), vectors.shape, texts.shape)
"""


def test_models_load_and_run_without_network(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("YOLO_", "HF_", "TRANSFORMERS_"))}
    # A fresh Ultralytics settings folder: nothing cached from earlier runs helps.
    env["DETECTOR_ULTRALYTICS_DIR"] = str(tmp_path / "ultralytics")
    # An empty model cache: the ONNX exports of both checkpoints are made offline too.
    env["MODEL_CACHE_DIR"] = str(tmp_path / "models")
    result = subprocess.run([sys.executable, "-c", OFFLINE_RUN], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "\nok " in "\n" + result.stdout
    assert sorted(path.suffix for path in (tmp_path / "models").iterdir()) == [".onnx", ".onnx"]
    assert "network access attempted" not in result.stderr
