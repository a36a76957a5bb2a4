"""Read pgvector columns as numpy arrays in their binary form.

Django receives vectors as text, and parsing 512 decimal numbers per row was the largest
single cost of a similar-items request (a few hundred rows each). `vector_send` is the
type's own binary output function: the same floats as bytes, decoded without parsing.
"""

import numpy as np
from django.db.models import BinaryField, Expression, F, Func
from pgvector import Vector


class VectorBinary(Func):
    """The binary form of a vector column or expression (pgvector's `vector_send`)."""

    function = "vector_send"
    output_field = BinaryField()

    def __init__(self, expression: str | Expression, **extra) -> None:
        super().__init__(F(expression) if isinstance(expression, str) else expression, **extra)


def vector_from_db(value: bytes | memoryview | list | np.ndarray) -> np.ndarray:
    """Return a vector read from the database, binary or already parsed, as float32."""
    if isinstance(value, bytes | memoryview):
        return Vector.from_binary(bytes(value)).to_numpy().astype(np.float32, copy=False)
    return np.asarray(value, dtype=np.float32)
