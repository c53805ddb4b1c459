"""The ONNX weights reader: the real model's tensors, and clear errors for files it can't read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adapters.similarity.minilm import model_file
from adapters.similarity.onnx_file import OnnxFileError, read_initializers


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _number(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _model(*tensors: bytes) -> bytes:
    graph = b"".join(_field(5, tensor) for tensor in tensors)
    # an ir_version (field 1) before the graph, as exporters write it
    return _number(1, 8) + _field(7, graph)


def _tensor(name: str, dims: list[int], dtype: int, raw: bytes, *, packed: bool = True) -> bytes:
    if packed:
        dim_bytes = _field(1, b"".join(_varint(d) for d in dims))
    else:
        dim_bytes = b"".join(_number(1, d) for d in dims)
    return dim_bytes + _number(2, dtype) + _field(8, name.encode()) + _field(9, raw)


def test_the_real_models_weights() -> None:
    tensors = read_initializers(model_file())
    words = tensors["inner.embeddings.word_embeddings.weight_q"]
    assert words.shape == (30522, 384)
    assert words.dtype == np.int8
    assert not words.flags.writeable
    assert sum(name.endswith("_q") for name in tensors) == 38


def test_a_small_file(tmp_path: Path) -> None:
    values = np.arange(6, dtype="<f4")
    path = tmp_path / "m.onnx"
    path.write_bytes(
        _model(
            _tensor("w", [2, 3], 1, values.tobytes()),
            _tensor("i", [3], 3, bytes([1, 2, 255]), packed=False),
        )
    )
    tensors = read_initializers(path)
    assert list(tensors) == ["w", "i"]
    np.testing.assert_array_equal(tensors["w"], values.reshape(2, 3))
    np.testing.assert_array_equal(tensors["i"], np.array([1, 2, -1], dtype=np.int8))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"not a model at all", "wire type|past the end|holds no weights"),
        (_model(_tensor("w", [2, 3], 1, b"\x00" * 8)), "8 bytes for shape"),
        (_model(_tensor("w", [1], 8, b"\x00" * 4)), "data type"),
        (_model(_tensor("w", [1], 1, b"\x00" * 4) + _number(14, 1)), "outside the file"),
        (_model(_tensor("w", [2], 1, b"\x00" * 8))[:-3], "past the end"),
    ],
)
def test_files_it_cannot_read_are_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(OnnxFileError, match=message):
        read_initializers(path)
