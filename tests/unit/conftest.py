"""Fixtures for the core's unit tests: a Leanon over in-memory fakes."""

from __future__ import annotations

import pytest

from tests.unit.fakes import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()
