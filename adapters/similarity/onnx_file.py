"""The weights stored in an ONNX file, read without the ONNX runtime.

An ONNX model is a protocol-buffers message. Its weights are the graph's
``initializer`` tensors, each with a name, a data type, its dimensions and its bytes.
This module walks the message far enough to find them and returns each tensor as a
numpy array over a memory map of the file: nothing is copied, and only the pages
actually read (the rows of the words in a question) become resident.

Only what leanon's model uses is read: tensors stored inside the file (not in an
external data file), as raw bytes, of the types below.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# onnx.proto: ModelProto.graph = 7, GraphProto.initializer = 5;
# TensorProto.dims = 1, data_type = 2, name = 8, raw_data = 9, data_location = 14.
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_NAME, _TENSOR_RAW, _TENSOR_LOCATION = 1, 2, 8, 9, 14

# TensorProto.DataType
_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype("<f4"), 3: np.dtype("i1"), 7: np.dtype("<i8"), 9: np.dtype("?"),
}

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class OnnxFileError(ValueError):
    """The file is not an ONNX model leanon can read."""


def _varint(buf: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(buf) or shift > 63:
            raise OnnxFileError("a number runs past the end of the file")
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(buf: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or offset, length) of each field in buf[start:end]."""
    at = start
    while at < end:
        key, at = _varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, at = _varint(buf, at)
            yield number, wire, value, 0
        elif wire == _BYTES:
            length, at = _varint(buf, at)
            if at + length > end:
                raise OnnxFileError("a field runs past the end of its message")
            yield number, wire, at, length
            at += length
        elif wire == _FIXED64:
            at += 8
        elif wire == _FIXED32:
            at += 4
        else:
            raise OnnxFileError(f"unknown wire type {wire}")
    if at != end:
        raise OnnxFileError("a message runs past its end")


def _tensor(buf: memoryview, start: int, end: int) -> tuple[str, np.ndarray]:
    dims: list[int] = []
    name = ""
    dtype_code = 0
    raw: tuple[int, int] | None = None
    for number, wire, value, length in _fields(buf, start, end):
        if number == _TENSOR_DIMS:
            if wire == _VARINT:
                dims.append(value)
            else:  # packed
                at = value
                while at < value + length:
                    dim, at = _varint(buf, at)
                    dims.append(dim)
        elif number == _TENSOR_TYPE:
            dtype_code = value
        elif number == _TENSOR_NAME:
            name = bytes(buf[value : value + length]).decode("utf-8")
        elif number == _TENSOR_RAW:
            raw = (value, length)
        elif number == _TENSOR_LOCATION and value != 0:
            raise OnnxFileError(f"tensor {name!r} is stored outside the file")
    dtype = _DTYPES.get(dtype_code)
    if dtype is None:
        raise OnnxFileError(f"tensor {name!r} has a data type leanon does not read ({dtype_code})")
    if raw is None:
        raise OnnxFileError(f"tensor {name!r} is not stored as raw bytes")
    count = int(np.prod(dims)) if dims else 1
    if count * dtype.itemsize != raw[1]:
        raise OnnxFileError(f"tensor {name!r} has {raw[1]} bytes for shape {dims}")
    array = np.frombuffer(buf, dtype=dtype, count=count, offset=raw[0]).reshape(dims)
    return name, array


def read_initializers(path: Path) -> dict[str, np.ndarray]:
    """Every initializer tensor of the ONNX model at path, by name, in file order.

    The arrays are read-only views over a memory map of the file, which stays open as
    long as any of them is alive.
    """
    with path.open("rb") as file:
        if not path.stat().st_size:
            raise OnnxFileError(f"{path} is empty")
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    buf = memoryview(mapped)
    tensors: dict[str, np.ndarray] = {}
    for number, wire, start, length in _fields(buf, 0, len(buf)):
        if number != _MODEL_GRAPH or wire != _BYTES:
            continue
        for inner, inner_wire, tstart, tlength in _fields(buf, start, start + length):
            if inner == _GRAPH_INITIALIZER and inner_wire == _BYTES:
                name, array = _tensor(buf, tstart, tstart + tlength)
                tensors[name] = array
    if not tensors:
        raise OnnxFileError(f"{path} holds no weights")
    return tensors
