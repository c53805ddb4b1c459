"""Fault tests: real `leanon run` processes and in-process adapters against the fakes, with
PostgreSQL behind a cuttable proxy; the Slack, Discord, operations and replica helpers on the path."""

from __future__ import annotations


