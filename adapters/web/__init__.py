"""The insights page on leanon's own HTTP server (docs/insights.md)."""
