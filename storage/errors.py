"""Turning database failures into the core's `StorageError`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import asyncpg
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.errors import StorageError

P = ParamSpec("P")
T = TypeVar("T")

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    OSError,  # refused or reset connections, timeouts (TimeoutError is an OSError)
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
"""What a database call may raise besides leanon's own errors."""


def storage_error(error: BaseException, doing: str) -> StorageError:
    """A StorageError saying what failed; the caller chains `error` as its cause.

    The message keeps the driver's first line only: no SQL parameters, no row values.
    """
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    summary = lines[0][:200] if lines else ""
    return StorageError(f"{doing} failed: {type(cause).__name__}: {summary}".rstrip(": "))


def translate_errors(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate a repository method so that database failures raise StorageError."""
    doing = method.__qualname__

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except DATABASE_ERRORS as error:
            raise storage_error(error, doing) from error

    return wrapper
