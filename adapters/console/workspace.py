"""The console workspace: one channel, several members, typed (or scripted) by one person."""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, TextIO

from adapters.console.chat import (
    BOT_NAME,
    ConsoleChat,
    ConsoleClock,
    ConsoleDirectory,
    ConsoleMessage,
    printable,
)
from bot.buttons import pressed
from bot.commands import (
    Command,
    CreateAsk,
    MarkAnswer,
    Person,
    ReactionAdded,
    ReactionRemoved,
    ResolveAsk,
    ReuseAnswer,
    RunAnswerIndexing,
    RunAskMaintenance,
    RunDueNudges,
    ThankMembers,
)
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from bot.emoji import emoji_name
from bot.errors import StorageError
from bot.messages import Message, error, line, notice
from bot.parsing import ParseError, leading_mentions, parse_leanon
from bot.service import STORAGE_TROUBLE, Leanon
from bot.text import format_duration, parse_duration

log = logging.getLogger(__name__)

HELP = """\
The console workspace: one channel (#general), many members, all typed by you.
Every message gets a short id like m3; use it to press buttons, react and reply.

  as <name>                      act as another member (alice, bob, ... anyone)
  <name>> <anything below>       do one line as <name>, e.g.  bob> react m2 pray
  <text>                         post a message in #general
  reply <id> <text>              post in the thread of message <id>
  answer <id>                    mark the reply <id> as the answer to its ask (its text is
                                 what solved it, its author is credited)
  /ask <question>                ask for help (--anon to ask anonymously,
                                 --tried <what you tried> to add it)
  /ask                           open the ask form (question, what you tried, anonymous);
                                 in a script, the lines after it that name a field:
                                 question: …  tried: …  anonymous: yes
  press <id> <n>                 press button number <n> on message <id>; Resolved asks
                                 what solved it (in a script: the next line, solved: …)
  react <id> <emoji>             react, e.g. react m4 pray  (also :pray: or 🙏)
  unreact <id> <emoji>           remove your reaction
  /thanks @name [@name…] <why>   thank one or more members
  /leanon help|stats|asks|leaderboard|named on|off|config [set <k> <v>]|forget-me|export
  /leanon nudge here [weekday] [HH:MM] [timezone] | off | preview | now
                                 the weekly post of #general
  time +2h                       move the clock forward (runs follow-ups, expiry and
                                 weekly posts that fall due)
  members                        who has spoken so far (admins are marked)
  help                           this text
  quit                           leave (Ctrl-D too)

Bot messages say who sees them: (#general) is public, (🔒 private to bob) is only for bob.
"""

_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,31}$")
_PREFIX = re.compile(r"^([a-z][a-z0-9._-]{0,31})>\s?(.*)$", re.IGNORECASE)
_MENTION = re.compile(r"@([a-z][a-z0-9._-]{0,31})", re.IGNORECASE)


class LineSource(Protocol):
    interactive: bool  # a person at a terminal (prompts), or a script

    async def read(self, prompt: str) -> str | None:
        """The next line without its newline; None at the end."""
        ...

    def unread(self, text: str) -> None:
        """Give a line back to be read next (scripts only)."""
        ...


# The ask form in a script: the lines right after `/ask` that name a field.
_FORM_FIELD = re.compile(r"^\s*(question|tried|anonymous)\s*:\s?(.*)$", re.IGNORECASE)
# The resolve form in a script: the line right after pressing Resolved, if it names it.
_SOLVED_FIELD = re.compile(r"^\s*solved\s*:\s?(.*)$", re.IGNORECASE)


@dataclass
class ConsoleWorkspace:
    """Interprets console lines as platform events and runs them through the core."""

    service: Leanon
    chat: ConsoleChat
    clock: ConsoleClock
    out: TextIO
    admins: set[str] = field(default_factory=lambda: {"alice"})
    workspace: WorkspaceRef = field(default_factory=lambda: WorkspaceRef(Platform.CONSOLE, "console"))
    export_dir: Path = field(default_factory=Path.cwd)
    current: str = "alice"
    members: set[str] = field(default_factory=set)
    reactions: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def channel_id(self) -> str:
        return self.chat.channel

    @property
    def directory(self) -> ConsoleDirectory:
        """What the core may ask of the console (thread authors, chiefly)."""
        return ConsoleDirectory(self.chat, self.admins)

    def actor(self, name: str | None = None) -> Actor:
        who = name or self.current
        return Actor(user_id=who, is_admin=who in self.admins)

    def say(self, text: str) -> None:
        self.out.write(printable(text) + "\n")

    def private(self, message: Message, to: str | None = None) -> None:
        self.chat.bot_message(message, private_to=to or self.current)

    async def run(self, source: LineSource, echo: bool) -> None:
        """Read and run lines until `quit` or the end of the input."""
        while True:
            text = await source.read(f"{self.current}> ")
            if text is None:
                return
            shown = text.strip()
            if echo and shown and not shown.startswith("#"):
                self.say(shown if _PREFIX.match(shown) else f"{self.current}> {shown}")
            if not await self.execute(text, source):
                return

    async def execute(self, text: str, source: LineSource) -> bool:
        """Run one line; False when the person asked to quit."""
        text = text.strip()
        if not text or text.startswith("#"):
            return True
        prefixed = _PREFIX.match(text)
        if prefixed and not text.startswith("/"):
            saved = self.current
            self.current = prefixed.group(1).lower()
            try:
                return await self.execute(prefixed.group(2), source)
            finally:
                self.current = saved
        self.members.add(self.current)
        word, _, rest = text.partition(" ")
        handler = self._verbs().get(word.lower())
        if handler is not None:
            return await handler(rest.strip(), source)
        if text.startswith("/"):
            self.private(error(f"Unknown command {word[:40]}. Type help for the list."))
            return True
        self.chat.add(ConsoleMessage(self.chat.new_id(), self.current, text=text))
        return True

    def _verbs(self) -> dict[str, Callable[[str, LineSource], Awaitable[bool]]]:
        return {
            "help": self._help, "quit": self._quit, "exit": self._quit, "as": self._as,
            "members": self._members, "reply": self._reply, "press": self._press,
            "answer": self._answer,
            "react": self._react, "unreact": self._unreact, "time": self._time,
            "/ask": self._ask, "/thanks": self._thanks, "/leanon": self._leanon,
        }

    async def _help(self, rest: str, source: LineSource) -> bool:
        self.out.write(HELP)
        return True

    async def _quit(self, rest: str, source: LineSource) -> bool:
        return False

    async def _as(self, rest: str, source: LineSource) -> bool:
        name = rest.lower().lstrip("@")
        if not _NAME.match(name) or name == BOT_NAME:
            self.say("Give a member name: letters, digits, . _ - (like: as bob).")
            return True
        self.current = name
        self.members.add(name)
        self.say(f"(you are now {name}{', an admin' if name in self.admins else ''})")
        return True

    async def _members(self, rest: str, source: LineSource) -> bool:
        names = sorted(self.members | {self.current})
        self.say("members: " + ", ".join(n + (" (admin)" if n in self.admins else "") for n in names))
        return True

    async def dispatch(self, cmd: Command) -> None:
        """Run a command and show its private answer to the member who acted."""
        try:
            reply = await self.service.handle(cmd)
        except StorageError:
            self.private(STORAGE_TROUBLE)
            return
        for message in reply.private:
            self._save_attachments(message)
            self.private(message)
        if isinstance(cmd, REMEMBERS) and reply.ok:
            # What was resolved is searchable at once (a server does this every 30 s).
            await self.service.handle(RunAnswerIndexing())
        try:
            await self.service.outbox.drain()  # notes of reactions, retries that are due
        except StorageError as exc:
            log.warning("outbox: not sent now: %s", exc)

    def _save_attachments(self, message: Message) -> None:
        for attachment in message.attachments:
            path = self.export_dir / attachment.filename
            path.write_bytes(attachment.content)
            self.say(f"(saved {path})")

    def _find(self, msg_id: str) -> ConsoleMessage | None:
        msg = self.chat.messages.get(msg_id.strip().lower())
        if msg is None:
            self.private(error(f"There is no message {msg_id[:20]!r}. Ids look like m3."))
        return msg

    async def _reply(self, rest: str, source: LineSource) -> bool:
        msg_id, _, text = rest.partition(" ")
        parent = self._find(msg_id)
        if parent is None or not text.strip():
            if parent is not None:
                self.private(error("Write something to reply: reply m3 I can look at it"))
            return True
        root = parent.thread_of or parent.id
        self.chat.add(ConsoleMessage(self.chat.new_id(), self.current, text=text.strip(),
                                     thread_of=root))
        return True

    async def _answer(self, rest: str, source: LineSource) -> bool:
        """`answer m5`: mark the reply m5 as the answer to its ask (the message action)."""
        msg = self._find(rest.strip())
        if msg is None:
            return True
        thread = MessageRef(self.channel_id, msg.thread_of) if msg.thread_of else None
        await self.dispatch(MarkAnswer(self.workspace, self.actor(), MessageRef(
            self.channel_id, msg.id), Person(msg.author, is_bot=msg.is_bot), msg.text, thread))
        return True

    async def _ask(self, rest: str, source: LineSource) -> bool:
        anonymous, tried = False, None
        if rest.startswith(("--anon ", "--anonymous ")) or rest in {"--anon", "--anonymous"}:
            anonymous, rest = True, rest.partition(" ")[2].strip()
        if " --tried " in f" {rest} ":
            rest, _, tried = f" {rest} ".partition(" --tried ")
            rest, tried = rest.strip(), tried.strip()
        if not rest:
            rest, tried, anonymous_too = await self._form(source)
            anonymous = anonymous or anonymous_too
        await self.dispatch(CreateAsk(self.workspace, self.actor(), self.channel_id, rest,
                                      tried or None, anonymous))
        return True

    async def _form(self, source: LineSource) -> tuple[str, str, bool]:
        """The ask form: prompts at a terminal; in a script, the lines right after `/ask`
        that name a field (`question: …`, `tried: …`, `anonymous: yes`). Any other line
        ends the form and runs as itself: a script's lines are never taken as answers."""
        if source.interactive:
            question = (await source.read("  question: ") or "").strip()
            tried = (await source.read("  what have you tried? (optional): ") or "").strip()
            answer = (await source.read("  ask anonymously? [y/N]: ") or "").strip().lower()
            return question, tried, answer in {"y", "yes"}
        fields: dict[str, str] = {}
        while (text := await source.read("")) is not None:
            field_ = _FORM_FIELD.match(text)
            if field_ is None or field_.group(1).lower() in fields:
                source.unread(text)
                break
            fields[field_.group(1).lower()] = field_.group(2).strip()
            self.say(f"  {field_.group(1).lower()}: {field_.group(2).strip()}")
        return (fields.get("question", ""), fields.get("tried", ""),
                fields.get("anonymous", "").lower() in {"y", "yes", "on", "true"})

    async def _thanks(self, rest: str, source: LineSource) -> bool:
        names, reason = leading_mentions(rest, _MENTION, self.service.deps.thanks_max_members + 1)
        names = list(dict.fromkeys(n.lower() for n in names))
        if not names and rest.startswith("@"):
            typed = rest[1:].split(maxsplit=1)[0] if rest[1:].strip() else ""
            self.private(error(f"'@{typed[:32]}' is not a console name: names are letters, "
                               "digits and . _ - (like @bob)."))
            return True
        known = self.members | self.admins | {self.current, BOT_NAME}
        strangers = [n for n in names if n not in known]
        if strangers:
            who = strangers[0]
            self.private(error(f"Nobody called @{who} is here yet. Members join when they "
                               f"first act (type: {who}> hello); then thank them. "
                               "Nothing was recorded."))
            return True
        people = tuple(Person(n, is_bot=n == BOT_NAME) for n in names)
        await self.dispatch(ThankMembers(self.workspace, self.actor(), self.channel_id, people,
                                         reason or None))
        return True

    async def _leanon(self, rest: str, source: LineSource) -> bool:
        try:
            cmd = parse_leanon(rest, self.workspace, self.actor(), self.channel_id)
        except ParseError as exc:
            self.private(error(str(exc)))
            return True
        await self.dispatch(cmd)
        return True

    async def _press(self, rest: str, source: LineSource) -> bool:
        try:
            msg_id, number = shlex.split(rest)[:2]
            index = int(number) - 1
        except ValueError:
            self.private(error("Say which button: press m3 1"))
            return True
        msg = self._find(msg_id)
        if msg is None:
            return True
        if not msg.buttons:
            self.private(error(f"{msg.id} has no buttons now (an ask card loses them once "
                               "the ask is resolved or closed)."))
            return True
        if not 0 <= index < len(msg.buttons):
            self.private(error(f"{msg.id} has buttons 1 to {len(msg.buttons)}: press "
                               f"{msg.id} 1"))
            return True
        if msg.private_to and msg.private_to != self.current:
            self.private(error(f"{msg.id} is private to {msg.private_to}; only they can press it."))
            return True
        button = msg.buttons[index]
        press = pressed(self.workspace.platform, button.action, button.value)
        cmd = press.command(self.workspace, self.actor()) if press else None
        if cmd is None:
            self.private(error("This button no longer works. Try the command again."))
            return True
        if isinstance(cmd, ResolveAsk) and await self.service.asks_what_solved_it(
                self.workspace, cmd.actor, cmd.ask_id):
            cmd = replace(cmd, note=await self._solved_form(source) or None)
        await self.dispatch(cmd)
        return True

    async def _solved_form(self, source: LineSource) -> str:
        """The resolve form: what solved it (optional). At a terminal a prompt; in a script,
        the line right after the press if it names the field (`solved: …`)."""
        if source.interactive:
            return (await source.read("  what solved it? (optional): ") or "").strip()
        text = await source.read("")
        if text is None:
            return ""
        field_ = _SOLVED_FIELD.match(text)
        if field_ is None:
            source.unread(text)
            return ""
        self.say(f"  solved: {field_.group(1).strip()}")
        return field_.group(1).strip()

    async def _react(self, rest: str, source: LineSource) -> bool:
        return await self._reaction(rest, added=True)

    async def _unreact(self, rest: str, source: LineSource) -> bool:
        return await self._reaction(rest, added=False)

    async def _reaction(self, rest: str, added: bool) -> bool:
        msg_id, _, emoji_text = rest.partition(" ")
        msg = self._find(msg_id)
        if msg is None:
            return True
        emoji = emoji_name(emoji_text)
        if not emoji:
            self.private(error("Say which emoji: react m3 pray"))
            return True
        key = (msg.id, self.current, emoji)
        if added == (key in self.reactions):
            state = "already reacted" if added else "has no reaction"
            self.say(f"({self.current} {state} :{emoji}: on {msg.id})")
            return True
        (self.reactions.add if added else self.reactions.discard)(key)
        verb = "reacted" if added else "removed"
        self.say(f"({self.current} {verb} :{emoji}: on {msg.id})")
        ref = MessageRef(self.channel_id, msg.id)
        author = Person(msg.author, is_bot=msg.is_bot)
        if added:
            thread = MessageRef(self.channel_id, msg.thread_of) if msg.thread_of else None
            await self.dispatch(ReactionAdded(self.workspace, self.actor(), author, ref, emoji,
                                              thread))
        else:
            await self.dispatch(ReactionRemoved(self.workspace, self.actor(), author, ref, emoji))
        return True

    async def _time(self, rest: str, source: LineSource) -> bool:
        delta = parse_duration(rest.lstrip("+"))
        if delta is None:
            self.private(error("Say how far to move the clock: time +2h (or 90m, 3d)."))
            return True
        self.clock.offset += delta
        self.say(f"(the clock moved forward {format_duration(delta)})")
        await self.dispatch(RunAskMaintenance())
        await self.dispatch(RunDueNudges())
        return True


# Commands after which an answer may need the search's vector.
REMEMBERS = (ResolveAsk, MarkAnswer, ReuseAnswer)


def welcome(workspace: ConsoleWorkspace) -> None:
    workspace.private(notice(
        line("Welcome to the leanon console workspace. You are alice (an admin)."),
        line("Type help for the commands, or try: /ask how do I reset my VPN token?"),
    ))
