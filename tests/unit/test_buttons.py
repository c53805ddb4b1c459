"""bot.buttons: the value each button carries is read back as the same press on every
platform, and a value leanon did not write is refused (None), never half-read."""

from __future__ import annotations

import pytest

from bot.buttons import Press, pressed
from bot.commands import ForgetMe, OfferHelp, ResolveAsk, ThankHelper
from bot.domain import Actor, Platform, WorkspaceRef
from bot.messages import ActionId

HELPERS = {Platform.SLACK: "U0123ABCD", Platform.DISCORD: "123456789012345678",
           Platform.CONSOLE: "bob"}


@pytest.mark.parametrize("platform", list(Platform))
@pytest.mark.parametrize("press", [
    Press(ActionId.OFFER_HELP, 42), Press(ActionId.RESOLVE, 7),
    Press(ActionId.THANK_HELPER, 999_999_999_999, "HELPER"),
    Press(ActionId.FORGET_DELETE_ASKS), Press(ActionId.FORGET_KEEP_ASKS)])
def test_every_button_reads_back_as_itself(platform: Platform, press: Press) -> None:
    if press.helper_id:
        press = Press(press.action, press.ask_id, HELPERS[platform])
    button = press.button(("label",))
    assert (button.action, button.value) == (press.action, press.value)
    assert len(button.value) <= 40  # what a Discord custom id has room for
    assert pressed(platform, button.action, button.value) == press


def test_a_press_becomes_its_command() -> None:
    ws, actor = WorkspaceRef(Platform.CONSOLE, "console"), Actor("alice")
    assert Press(ActionId.OFFER_HELP, 3).command(ws, actor) == OfferHelp(ws, actor, 3)
    assert Press(ActionId.RESOLVE, 3).command(ws, actor) == ResolveAsk(ws, actor, 3)
    assert Press(ActionId.THANK_HELPER, 3, "bob").command(ws, actor) == ThankHelper(
        ws, actor, 3, "bob")
    assert Press(ActionId.FORGET_KEEP_ASKS).command(ws, actor) == ForgetMe(ws, actor, True)
    assert Press(ActionId.FORGET_DELETE_ASKS).command(ws, actor) == ForgetMe(ws, actor, False)


@pytest.mark.parametrize(("platform", "action", "value"), [
    (Platform.SLACK, "another_apps_button", "42"),
    (Platform.SLACK, ActionId.OFFER_HELP, ""),
    (Platform.SLACK, ActionId.OFFER_HELP, "0"),
    (Platform.SLACK, ActionId.OFFER_HELP, "042"),
    (Platform.SLACK, ActionId.OFFER_HELP, "4²"),  # isdigit() says yes
    (Platform.SLACK, ActionId.OFFER_HELP, "٤٢"),  # so does isdecimal()
    (Platform.SLACK, ActionId.RESOLVE, "1" * 19),
    (Platform.SLACK, ActionId.RESOLVE, "42 "),
    (Platform.SLACK, ActionId.THANK_HELPER, "42"),
    (Platform.SLACK, ActionId.THANK_HELPER, "42:"),
    (Platform.SLACK, ActionId.THANK_HELPER, "42:everyone"),
    (Platform.SLACK, ActionId.THANK_HELPER, "42:<!channel>"),
    (Platform.SLACK, ActionId.THANK_HELPER, "x:U0123ABCD"),
    (Platform.DISCORD, ActionId.THANK_HELPER, "42:everyone"),
    (Platform.DISCORD, ActionId.THANK_HELPER, "42:U0123ABCD"),
    (Platform.CONSOLE, ActionId.THANK_HELPER, "42:Bob Smith"),
    (Platform.CONSOLE, ActionId.FORGET_KEEP_ASKS, "delete"),
    (Platform.CONSOLE, ActionId.FORGET_DELETE_ASKS, ""),
])
def test_a_value_leanon_did_not_write_is_refused(platform: Platform, action: str,
                                                 value: str) -> None:
    assert pressed(platform, action, value) is None
