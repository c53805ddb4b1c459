"""The console workspace driven by a script, end to end on a real SQLite database."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import run_console_workspace
from bot.config import Config
from bot.domain import Answer, Platform, WorkspaceRef
from storage import SqlStore, create_engine
from tests.ops.leanon_process import free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "docs" / "console-demo.txt"


async def run_script(script: str, tmp_path: Path) -> str:
    config = Config(database_url=f"sqlite:///{tmp_path / 'console.db'}")
    out = io.StringIO()
    await run_console_workspace(config, io.StringIO(script), out, export_dir=tmp_path,
                                serve_insights=False)
    return out.getvalue()


async def remembered(tmp_path: Path) -> list[Answer]:
    """What the console's database remembers as answered, after `run_script`."""
    store = SqlStore(create_engine(f"sqlite:///{tmp_path / 'console.db'}"))
    try:
        async with store.unit_of_work() as uow:
            return await uow.answers.export(WorkspaceRef(Platform.CONSOLE, "console"))
    finally:
        await store.close()


def block(output: str, head: str) -> str:
    """The last printed message whose first line starts with `head`, with its body."""
    found = ""
    lines = output.splitlines()
    for i, text in enumerate(lines):
        if text.startswith(head):
            body = [text]
            for more in lines[i + 1:]:
                if not more.startswith("    "):
                    break
                body.append(more)
            found = "\n".join(body)
    assert found, f"nothing starting with {head!r} in:\n{output}"
    return found


async def test_demo_script_shows_the_whole_loop(tmp_path: Path) -> None:
    output = await run_script(DEMO.read_text(), tmp_path)

    card = block(output, "[m1 updated] leanon (#general)")
    assert "How do I rotate the staging database password without downtime?" in card
    assert "Asked by @alice" in card
    assert "1 person offered to help: @bob" in card
    assert "✅ Resolved" in card
    assert "buttons:" not in card  # a resolved card has no buttons left

    assert "[m3] leanon (#general ↳ thread of m1):" in output
    assert "@bob can help" in block(output, "[m3] leanon")
    assert "@bob offered to help with your ask" in block(output, "[m4] leanon (🔒 private to alice)")

    thank_buttons = block(output, "[m7] leanon (🔒 private to alice)")
    assert "[1] Thank @bob" in thank_buttons
    assert "@alice thanked you for helping with" in block(output, "[m8] leanon (🔒 private to bob)")
    assert "Thank-you sent to @bob" in block(output, "[m9] leanon (🔒 private to alice)")

    assert "(carol reacted :pray: on m6)" in output
    assert "@carol thanked you with :pray:" in block(output, "[m10] leanon (🔒 private to bob)")
    assert "(carol removed :pray: on m6)" in output

    stats = block(output, "[m11] leanon (🔒 private to bob): Your leanon numbers")
    assert "Thanks received: 1 (1 in the last 7 days)" in stats
    assert "Help offered: 1 time" in stats


async def test_reacting_again_counts_carols_thanks(tmp_path: Path) -> None:
    script = DEMO.read_text() + "carol> react m6 pray\nbob> /leanon stats\ntime +1m\n"
    output = await run_script(script, tmp_path)
    # Within a minute of carol's first note: the stats come first, the note a minute later.
    assert "Thanks received: 2" in block(output, "[m12] leanon (🔒 private to bob)")
    assert "@carol thanked you with :pray:" in block(output, "[m13] leanon (🔒 private to bob)")


async def test_bad_input_gets_a_clear_private_answer(tmp_path: Path) -> None:
    output = await run_script(
        "press m99 1\n/leanon frobnicate\n/ask\n\n\n\nreact m1\ntime soon\n/nope\nas LEANON\n",
        tmp_path)
    assert "There is no message 'm99'" in output
    assert "I don't know '/leanon frobnicate'" in output
    assert "What do you need help with?" in output
    assert "Say how far to move the clock" in output
    assert "Unknown command /nope" in output
    assert "Give a member name" in output
    assert "Traceback" not in output


async def test_the_ask_form_in_a_script_takes_the_lines_that_name_a_field(
        tmp_path: Path) -> None:
    script = ("/ask\nquestion: Why does the build cache miss on CI every time?\n"
              "Tried: Cleared the cache\nanonymous: yes\nbob> press m1 1\n")
    output = await run_script(script, tmp_path)
    card = block(output, "[m1] leanon (#general)")
    assert "Why does the build cache miss on CI every time?" in card
    assert "What I tried: Cleared the cache" in card
    assert "Asked by someone" in card
    assert "@alice" not in card
    assert "1 person offered to help: @bob" in block(output, "[m1 updated] leanon (#general)")


async def test_the_ask_form_in_a_script_never_swallows_other_lines(tmp_path: Path) -> None:
    output = await run_script("/ask\nbob> Where is the VPN config?\n/ask --anon\n"
                              "/leanon stats\n", tmp_path)
    assert output.count("What do you need help with?") == 2
    assert "[m2] bob (#general): Where is the VPN config?" in output  # said, not asked
    assert "Your leanon numbers" in output  # /leanon stats ran as itself
    assert "leanon (#general): Asking for help" not in output


async def test_terminal_escapes_are_printed_as_text(tmp_path: Path) -> None:
    output = await run_script("hello \x1b[31mred\x1b]0;title\x07 \x9b2J\n"
                              "/ask Why \x1b[2J does this clear my screen?\n", tmp_path)
    assert "\x1b" not in output and "\x07" not in output and "\x9b" not in output
    assert "hello \\x1b[31mred\\x1b]0;title\\x07 \\x9b2J" in output


async def test_pressing_a_resolved_card_says_its_buttons_are_gone(tmp_path: Path) -> None:
    output = await run_script("/ask Where is the VPN config?\npress m1 2\npress m1 1\n"
                              "/ask Who owns the staging cluster?\npress m6 3\n", tmp_path)
    assert "m1 has no buttons now (an ask card loses them once the ask is resolved" in output
    assert "m6 has buttons 1 to 2: press m6 1" in output


async def test_waiting_ask_gets_one_follow_up_when_time_passes(tmp_path: Path) -> None:
    output = await run_script(
        "/ask Anyone know where the on-call rota lives?\ntime +3h\ntime +3h\n", tmp_path)
    assert output.count("still waiting for a hand") == 1


async def test_a_helper_is_asked_to_look_and_answers_from_the_console(tmp_path: Path) -> None:
    output = await run_script(
        "as bob\n/leanon hours 00:00-23:59 daily UTC\n/leanon helper on\nas carol\n"
        "/ask How do I renew the staging certificate without downtime?\ntime +50m\n"
        "as bob\npress m6 2\n", tmp_path)
    request = block(output, "[m6] leanon (🔒 private to bob): Could you look at a teammate's ask?")
    assert "How do I renew the staging certificate" in request
    assert "[1] I can help  [2] Not now  [3] Stop asking me" in request
    assert "1 teammate was asked to look" in block(output, "[m3 updated]")
    assert "no more requests today" in block(output, "[m7]")


async def test_the_console_serves_the_insights_page_and_an_admin_gets_a_link(
        tmp_path: Path) -> None:
    port = free_port()
    config = Config(database_url=f"sqlite:///{tmp_path / 'console.db'}", leanon_port=port)
    out = io.StringIO()
    script = "as bob\n/leanon insights\nas alice\n/leanon insights\n"
    await run_console_workspace(config, io.StringIO(script), out, export_dir=tmp_path)
    output = out.getvalue()
    assert "Only workspace admins can open the insights page" in output
    assert f"http://127.0.0.1:{port}/insights/login/" in block(output, "[m2] leanon (🔒 private to alice)")


async def test_export_writes_files_for_an_admin_only(tmp_path: Path) -> None:
    output = await run_script("bob> /leanon export\n/leanon export csv\n", tmp_path)
    assert "Only workspace admins can export" in output
    assert sorted(p.suffix for p in tmp_path.glob("leanon-*")) == [".csv", ".csv", ".csv"]


def test_leanon_console_command_runs_a_script_from_stdin(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PYTHONPATH": str(ROOT)}
    env.pop("SLACK_BOT_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console"], input=DEMO.read_text(), text=True,
        capture_output=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Thanks received: 1" in result.stdout
    assert result.stderr == ""  # log lines go to a file, out of the transcript


def test_the_consoles_log_lines_go_to_a_file_unless_asked_for_on_stderr(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}",
           "PYTHONPATH": str(ROOT)}
    for name in ("SLACK_BOT_TOKEN", "LEANON_LOG_FILE"):
        env.pop(name, None)
    script = "/ask Where is the VPN config?\ntime +3h\n"  # the follow-up is logged
    quiet = subprocess.run([sys.executable, "-m", "bot.cli", "console"], input=script, text=True,
                           capture_output=True, env=env, cwd=tmp_path, timeout=120, check=False)
    asked = subprocess.run([sys.executable, "-m", "bot.cli", "console"], input=script, text=True,
                           capture_output=True, env={**env, "LEANON_LOG_FILE": "-"},
                           cwd=tmp_path, timeout=120, check=False)
    assert quiet.returncode == asked.returncode == 0
    assert "ask maintenance" not in quiet.stdout + quiet.stderr
    assert "ask maintenance: 1 follow-up" in (tmp_path / "leanon-console.log").read_text()
    assert "ask maintenance: 1 follow-up" in asked.stderr and "ask maintenance" not in asked.stdout


@pytest.mark.parametrize("value", ["Mars/Olympus", "nowhere"])
def test_a_bad_timezone_fails_with_one_line(tmp_path: Path, value: str) -> None:
    env = {**os.environ, "LEANON_TIMEZONE": value,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "console"], input="", text=True,
                            capture_output=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "LEANON_TIMEZONE" in result.stderr


async def test_weekly_post_now_and_preview_in_the_console(tmp_path: Path) -> None:
    output = await run_script(
        "/ask --anon Does anyone know where the VPN guide went?\n"
        "/leanon nudge here monday 09:30 Europe/Berlin\n"
        "/leanon nudge preview\n"
        "/leanon nudge now\n"
        "bob> /leanon nudge now\n"
        "/leanon nudge here someday\n", tmp_path)
    assert "its weekly post on Mondays at 09:30 (Europe/Berlin)" in output
    preview = block(output, "[m5] leanon (🔒 private to alice): It's okay to ask")
    post = block(output, "[m6] leanon (#general): It's okay to ask")
    assert preview.splitlines()[1:] == post.splitlines()[1:]
    assert "• Does anyone know where the VPN guide went? (m1) (asked by someone)" in post
    assert "Only workspace admins can send the weekly post now." in output
    assert "I can't read 'someday' here" in output


async def test_a_weekly_post_goes_out_when_the_console_clock_reaches_it(tmp_path: Path) -> None:
    # Steps of 6 h: one of them lands on Monday between 09:30 and 15:30, whatever today is.
    output = await run_script("/leanon nudge here\n" + "time +6h\n" * 32, tmp_path)
    assert output.count("leanon (#general): It's okay to ask") == 1


async def test_a_second_run_on_the_same_database_goes_on_where_the_first_stopped(
        tmp_path: Path) -> None:
    first = await run_script("/ask Where is the VPN config?\nbob> press m1 1\n"
                             "/ask Who owns the staging cluster?\n", tmp_path)
    assert "[m7] leanon (#general): Asking for help" in first
    second = await run_script("carol> press m7 1\n/thanks @bob for the VPN help\n"
                              "press m1 2\n", tmp_path)
    assert "[m101] " in second and "[m8]" not in second  # ids go on: none given out twice
    assert "1 person offered to help: @carol" in block(second, "[m7 updated] leanon (#general)")
    assert "Thanks recorded for @bob" in second  # bob acted in the first run: he is known
    assert "✅ Resolved" in block(second, "[m1 updated] leanon (#general)")
    assert "There is no message" not in second


async def test_thanking_someone_who_is_not_here_is_refused_with_a_hint(tmp_path: Path) -> None:
    output = await run_script("/thanks @nobody-here for nothing\n/thanks @ünïcødé thanks\n"
                              "bob> hello\n/thanks @bob @alice for the help\n", tmp_path)
    assert "Nobody called @nobody-here is here yet" in output
    assert "nobody-here> hello" in output
    assert "'@ünïcødé' is not a console name" in output
    assert "Thanks recorded for @bob" in output
    assert "Left out: yourself" in output
    assert "@alice thanked @nobody-here" not in output


async def test_resolving_asks_what_solved_it_and_a_script_answers_on_the_next_line(
        tmp_path: Path) -> None:
    """Pressing Resolved opens the resolve form; a script's next line answers it only when
    it names the field, so nothing else is ever taken as the answer."""
    output = await run_script(
        "/ask Where is the VPN config?\nbob> press m1 1\npress m1 2\n"
        "solved: In the wiki, under Network > VPN\n"
        "/ask Who owns the staging cluster?\npress m9 2\nhello there\n", tmp_path)
    assert "  solved: In the wiki, under Network > VPN" in output
    assert "Saved what solved it" in output
    assert "alice (#general): hello there" in output  # not taken as the second form's answer
    kept = await remembered(tmp_path)
    assert [(a.question, a.note) for a in kept] == [
        ("Where is the VPN config?", "In the wiki, under Network > VPN"),
        ("Who owns the staging cluster?", None)]


async def test_only_those_who_may_resolve_are_asked_what_solved_it(tmp_path: Path) -> None:
    output = await run_script("/ask Where is the VPN config?\ncarol> press m1 2\n"
                              "solved: my guess\n", tmp_path)
    assert "Only the person who asked" in output
    assert "  solved:" not in output  # no form: the next line ran as itself


async def test_a_reply_marked_as_the_answer_resolves_and_credits_its_author(tmp_path: Path) -> None:
    output = await run_script("/ask Where is the VPN config?\n"
                              "carol> reply m1 It's in the wiki under Network, step 4\n"
                              "bob> answer m4\nanswer m4\nanswer m1\n", tmp_path)
    assert "Only the person who asked (or a workspace admin) can mark the answer" in output
    assert "1 person offered to help: @carol" in output and "Thank @carol" in output
    assert "Mark as the answer works on a reply in an ask's thread" in output
    [kept] = await remembered(tmp_path)
    assert kept.note == "It's in the wiki under Network, step 4"


async def test_an_ask_asked_again_is_offered_what_solved_it_and_this_solved_it_resolves_it(
        tmp_path: Path) -> None:
    """Answered before, end to end with the real search: resolve with a note, ask the same
    in other words, press "This solved it"."""
    output = await run_script(
        "/ask The staging database refuses connections after the nightly restore\n"
        "carol> press m1 1\npress m1 2\n"
        "solved: Restart pgbouncer on staging-db-2; the restore leaves it holding dead connections.\n"
        "bob> /ask staging db won't take connections since last night's restore, anyone?\n"
        "bob> press m11 1\n"
        "dave> /ask is there bike parking at the office?\n", tmp_path)
    offered = block(output, "[m11] leanon (🔒 private to bob): Asked before? This may answer it")
    assert "What solved it: Restart pgbouncer on staging-db-2" in offered
    assert "Helped: @carol" in offered and "@alice" not in offered
    assert "Glad it helped! Your ask is resolved as answered before, and @carol thanked again" in output
    assert "Resolved: answered before, by an earlier ask" in output
    assert output.count("Asked before?") == 1  # the bike parking ask repeats nothing
    kept = await remembered(tmp_path)
    assert [(a.question[:14], a.same_as) for a in kept] == [
        ("The staging da", None), ("staging db won", kept[0].id)]


async def test_helpers_opt_in_and_set_hours_in_the_console(tmp_path: Path) -> None:
    output = await run_script(
        "bob> /leanon helper on kubernetes, terraform\n"
        "bob> /leanon hours 9-17\n"
        "bob> /leanon hours 09:00-17:30 mon-thu Europe/Berlin\n"
        "/leanon helpers\n", tmp_path)
    assert "You're a helper (kubernetes, terraform)" in output
    assert "Which time zone are those hours in?" in output  # the console knows nobody's zone
    assert "Your working hours: 09:00-17:30, Mon-Thu, Europe/Berlin" in output
    assert "@bob: kubernetes, terraform; 09:00-17:30, Mon-Thu, Europe/Berlin" in output  # alice is admin
