"""`leanon answers import|export`: an FAQ into leanon's memory and back, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answers import AnswersFileError, KnownAnswer, parse_workspace, read_answers
from bot.cli import main
from bot.domain import Platform, WorkspaceRef

CSV = ("question,answer,link,channel\n"
       "How do I reset my VPN password?,Use the portal at id.example.com,https://wiki/vpn,\n"
       "Who approves vacation?,\"Your manager, in the HR tool\",,C0PEOPLE\n")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "answers.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("LEANON_LOG_FILE", str(tmp_path / "log.txt"))
    return db


def run(*argv: str) -> int:
    return main(["answers", *argv])


def test_a_csv_faq_goes_in_once_and_comes_back_out_the_same(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text(CSV, encoding="utf-8")
    assert run("import", str(faq), "--workspace", "slack:T0TEAM") == 0
    assert "2 answers added to slack:T0TEAM" in capsys.readouterr().out
    assert run("import", str(faq), "--workspace", "slack:T0TEAM") == 0  # again: nothing new
    assert "0 answers added to slack:T0TEAM; 2 it knew already" in capsys.readouterr().out

    out = tmp_path / "out.csv"
    assert run("export", str(out), "--workspace", "slack:T0TEAM") == 0
    assert out.read_text(encoding="utf-8") == CSV
    assert run("export", "--workspace", "slack:T0TEAM") == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[1] == {"question": "Who approves vacation?",
                        "answer": "Your manager, in the HR tool", "channel": "C0PEOPLE"}
    assert run("export", "--workspace", "discord:81234") == 0  # another workspace: none
    assert capsys.readouterr().out == ""

    again = tmp_path / "again.jsonl"
    again.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    assert run("import", str(again), "--workspace", "console") == 0
    assert run("export", str(tmp_path / "console.csv"), "--workspace", "console") == 0
    assert (tmp_path / "console.csv").read_text(encoding="utf-8") == CSV


def test_a_file_with_a_bad_row_changes_nothing_and_names_each_line(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Where is the VPN config?", "answer": "In the wiki."}\n'
                   '{"question": "x"}\nnot json\n'
                   '{"question": "q", "answer": "a", "link": "javascript:alert(1)"}\n'
                   '{"question": "q", "answer": "a", "colour": "red"}\n', encoding="utf-8")
    assert run("import", str(bad), "--workspace", "slack:T0TEAM") == 2
    err = capsys.readouterr().err
    for expected in ("nothing was imported", "line 2: question and answer must both be given",
                     "line 3: not a JSON object", "line 4: link must be a web address",
                     "line 5: unknown field 'colour'"):
        assert expected in err
    assert run("export", "--workspace", "slack:T0TEAM") == 0
    assert capsys.readouterr().out == ""  # the good first line was not stored either


@pytest.mark.parametrize(("args", "said"), [
    (("import", "missing.csv", "--workspace", "slack:T0TEAM"), "No such file"),
    (("import", "x.csv", "--workspace", "irc:1"), "is not a workspace"),
    (("import", "x.csv", "--workspace", "slack:"), "names no slack workspace id"),
])
def test_a_wrong_path_or_workspace_is_one_line(database: Path, args: tuple[str, ...], said: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1


def test_rows_are_cleaned_and_cannot_ping_anyone() -> None:
    [row] = read_answers("question,answer\n  Who owns <!channel> ?  ,ask @here\x07\n", "f.csv")
    assert row.question.startswith("Who owns") and "<!channel>" not in row.question
    assert "@here" not in row.answer and "\x07" not in row.answer


def test_a_csv_without_the_columns_or_an_empty_file_is_refused() -> None:
    with pytest.raises(AnswersFileError, match="missing: answer"):
        read_answers("question,reply\nq,a\n", "f.csv")
    with pytest.raises(AnswersFileError, match="no answers"):
        read_answers("\n", "f.jsonl")
    with pytest.raises(AnswersFileError, match="over 4,000 characters"):
        read_answers(json.dumps({"question": "q", "answer": "a" * 4001}), "f.jsonl")


def test_workspaces_are_named_platform_colon_id() -> None:
    assert parse_workspace("slack:T0TEAM") == WorkspaceRef(Platform.SLACK, "T0TEAM")
    assert parse_workspace("Discord:81234") == WorkspaceRef(Platform.DISCORD, "81234")
    assert parse_workspace("console") == WorkspaceRef(Platform.CONSOLE, "console")
    assert KnownAnswer("q", "a").key == ("q", "a", None, None)


def test_what_spreadsheets_and_web_pages_put_in_files_reads_back(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A byte-order mark (Excel's CSV UTF-8), CRLF line ends, and a line separator
    (U+2028) pasted into a note: the export of such a note imports back as it was."""
    faq = tmp_path / "faq.csv"
    faq.write_bytes("\ufeffquestion,answer\r\nWho orders laptops?,IT\u2028by form\r\n".encode())
    assert run("import", str(faq), "--workspace", "console") == 0
    out = tmp_path / "out.jsonl"
    assert run("export", str(out), "--workspace", "console") == 0
    assert run("import", str(out), "--workspace", "slack:T0OTHER") == 0
    assert run("export", "--workspace", "slack:T0OTHER") == 0
    last = capsys.readouterr().out.rstrip("\n").split("\n")[-1]
    assert json.loads(last)["answer"] == "IT\u2028by form"


def test_a_broken_csv_or_deep_json_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(AnswersFileError, match="not a CSV file leanon can read"):
        read_answers('question,answer\n"q' + "x" * 140_000 + ",a\n", "f.csv")
    with pytest.raises(AnswersFileError, match="line 1: not a JSON object"):
        read_answers("[" * 100_000 + "]" * 100_000, "f.jsonl")
    with pytest.raises(AnswersFileError, match="no spaces"):
        read_answers('{"question": "q", "answer": "a", "link": "https://x/<!channel>"}', "f.jsonl")
