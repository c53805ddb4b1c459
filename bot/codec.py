"""Commands as JSON, for adapters that store a delivery as the command it became (the inbox).

Every command is a frozen dataclass of plain values (text, numbers, flags, enums, times,
tuples, sets and other such dataclasses), so one generic encoding by field, read back through
the fields' type hints, covers them all and every command added later.
"""

from __future__ import annotations

import dataclasses
import types
from datetime import time
from enum import Enum
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from bot.commands import Command

COMMANDS: dict[str, type] = {cls.__name__: cls for cls in get_args(Command)}


def encode_command(cmd: Command) -> dict[str, Any]:
    """`cmd` as JSON-ready data; `decode_command` gives it back equal."""
    return {"command": type(cmd).__name__, "fields": _encode(cmd)}


def decode_command(data: dict[str, Any]) -> Command:
    """The command `encode_command` made. KeyError, TypeError or ValueError when `data` is
    not one (an unknown command, a missing field, a value of the wrong shape)."""
    cls = COMMANDS[data["command"]]
    return _decode(data["fields"], cls)  # type: ignore[no-any-return]


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(_encode(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"can't encode a {type(value).__name__} in a command")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(value: Any, hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        [kind] = [a for a in get_args(hint) if a is not type(None)]
        return _decode(value, kind)
    if origin is frozenset:
        [kind] = get_args(hint)
        return frozenset(_decode(v, kind) for v in value)
    if origin is tuple:
        [kind, _] = get_args(hint)  # tuple[X, ...]
        return tuple(_decode(v, kind) for v in value)
    if dataclasses.is_dataclass(hint):
        hints = _hints(hint)  # type: ignore[arg-type]
        # A field a later version removed is dropped: what an earlier one stored still works.
        return hint(**{name: _decode(v, hints[name])  # type: ignore[operator]
                       for name, v in value.items() if name in hints})
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if hint is time:
        return time.fromisoformat(value)
    if hint in (str, int, float, bool) and not isinstance(value, hint):
        raise TypeError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value
