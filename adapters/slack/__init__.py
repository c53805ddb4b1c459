"""The Slack adapter: bolt's AsyncApp translating Slack payloads into core commands.

`app.build_app` wires the listeners (`commands`, `interactions`, `events`) to the core;
`chat.SlackChat` is the core's `Chat` on Slack; `server` serves HTTP or Socket Mode.
"""
