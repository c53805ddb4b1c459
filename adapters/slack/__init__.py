"""The Slack adapter: bolt's AsyncApp translating Slack payloads into core commands.

`app.build_app` wires the listeners (`commands`, `interactions`, `events`) to the core;
`chat.SlackChat` is the core's `Chat` on Slack; `server` serves HTTP or Socket Mode;
`auth`/`installs` decide which workspaces are served with which token (one bot token, or
OAuth installs through `oauth`).
"""
