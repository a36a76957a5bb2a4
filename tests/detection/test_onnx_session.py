"""ONNX Runtime sessions share the CPU politely with the rest of a request."""

import io

import numpy as np
import pytest
import torch

from detection import onnx_session
from detection.onnx_session import cpu_inference_session


def tiny_model() -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(torch.nn.Linear(4, 2).eval(), (torch.zeros(1, 4),), buffer,
                      input_names=["x"], dynamo=False)
    return buffer.getvalue()


@pytest.mark.parametrize(("spin", "expected"), [(False, "0"), (True, "1")])
def test_worker_threads_spin_only_when_asked(monkeypatch, spin, expected):
    monkeypatch.setattr(onnx_session, "SPIN", spin)
    session = cpu_inference_session(tiny_model(), threads=2)
    options = session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == expected
    assert options.intra_op_num_threads == 2
    output = session.run(None, {"x": np.ones((1, 4), dtype=np.float32)})[0]
    assert output.shape == (1, 2)
