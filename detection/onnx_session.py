"""One way to open an ONNX Runtime session on the CPU, shared by both models."""

import os
from pathlib import Path

# ONNX Runtime's worker threads spin for a while after each run, waiting for the next one.
# In a web request the next work is numpy, torch and PostgreSQL on the same two cores, and
# spinning threads starved them (shop the look's database queries took several times
# longer than EXPLAIN ANALYZE reported). `ONNX_SPIN=1` turns spinning back on for a
# process that does nothing but inference.
SPIN = os.environ.get("ONNX_SPIN", "0") == "1"


def cpu_inference_session(model: bytes | Path, threads: int):
    """Return an `onnxruntime.InferenceSession` for `model` (its bytes or its file) on the CPU.

    `run` on the returned session may be called from several threads at once.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    spin = "1" if SPIN else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    options.add_session_config_entry("session.inter_op.allow_spinning", spin)
    source = str(model) if isinstance(model, Path) else model
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
