"""Operating leanon: the process's HTTP server (health, readiness, metrics) and its logs.

Nothing here is about a chat platform: the composition root wires these around the core
and the adapters. The core never imports this package (nor prometheus_client, structlog).
"""
