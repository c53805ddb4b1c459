"""Fault tests: real `leanon run` processes and in-process adapters against the fakes, with
PostgreSQL behind a cuttable proxy; the Slack, Discord, operations and replica helpers on the path."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for helpers in ("slack", "discord", "ops", "e2e"):
    if str(TESTS / helpers) not in sys.path:
        sys.path.append(str(TESTS / helpers))
