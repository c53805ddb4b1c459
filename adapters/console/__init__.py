"""The console workspace: try leanon in a terminal with no Slack or Discord account."""
