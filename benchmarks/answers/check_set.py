"""Check answered-before sets against the rules they are written to.

    PYTHONPATH=. .venv/bin/python benchmarks/answers/check_set.py benchmarks/answers/train/NAME ...

A training set has 60 answers (id, question, answer, channel), 120 repeats (text, answer:
the id it repeats; two for each answer) and 180 unrelated asks (text: a new problem on
the set's topics that none of its answers solves). Each repeat shares at most two content
words (`adapters.similarity.words.content_words`) with its original's question and note
(the sets written since 2026-12-04 keep to this; the earlier ones counted words against
the question alone, and some of their repeats share more with the note).
No text may be one that another set already has, the evaluation and held-out sets
included (compared lower-cased, whitespace collapsed; only the count is printed).
Prints each set's figures and every broken rule; exits 1 if any rule is broken.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from adapters.similarity.words import content_words
from benchmarks.answers.sets import HERE, AnswerSet, load

ANSWERS, REPEATS, UNRELATED = 60, 120, 180
MOST_SHARED = 2
LIMIT = 1000


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _texts(answer_set: AnswerSet) -> list[str]:
    return ([a["question"] for a in answer_set.answers] + [r["text"] for r in answer_set.repeats]
            + [u["text"] for u in answer_set.unrelated])


def problems(answer_set: AnswerSet, elsewhere: set[str]) -> list[str]:
    found = []
    sizes = (len(answer_set.answers), len(answer_set.repeats), len(answer_set.unrelated))
    if sizes != (ANSWERS, REPEATS, UNRELATED):
        found.append(f"sizes {sizes}, not {(ANSWERS, REPEATS, UNRELATED)}")
    answers = {}
    for a in answer_set.answers:
        if set(a) != {"id", "question", "answer", "channel"}:
            found.append(f"answer {a.get('id')}: fields {sorted(a)}")
        elif a["id"] in answers:
            found.append(f"answer {a['id']}: id twice")
        elif any(not a[k].strip() or len(a[k]) > LIMIT for k in ("question", "answer")):
            found.append(f"answer {a['id']}: a text empty or over {LIMIT} characters")
        answers[a.get("id")] = a
    per_answer = Counter(r.get("answer") for r in answer_set.repeats)
    for answer_id in answers:
        if per_answer[answer_id] != REPEATS // ANSWERS:
            found.append(f"answer {answer_id}: {per_answer[answer_id]} repeats")
    for r in answer_set.repeats:
        original = answers.get(r.get("answer"))
        if set(r) != {"text", "answer"} or original is None:
            found.append(f"repeat {r}: fields or answer id")
            continue
        shared = set(content_words(r["text"])) & set(
            content_words(original["question"] + " " + original["answer"]))
        if len(shared) > MOST_SHARED:
            found.append(f"repeat of {r['answer']} shares {sorted(shared)}: {r['text']!r}")
    for u in answer_set.unrelated:
        if set(u) != {"text"} or not u["text"].strip():
            found.append(f"unrelated {u}: fields")
    counts = Counter(_key(t) for t in _texts(answer_set))
    found += [f"text twice in the set: {t!r}" for t, n in counts.items() if n > 1]
    again = sum(1 for t in counts if t in elsewhere)
    if again:
        found.append(f"{again} texts are word for word in another set")
    return found


def overlap(answer_set: AnswerSet) -> str:
    answers = {a["id"]: set(content_words(a["question"] + " " + a["answer"])) for a in answer_set.answers}
    shared = Counter(min(len(set(content_words(r["text"])) & answers[r["answer"]]), MOST_SHARED + 1)
                     for r in answer_set.repeats if r.get("answer") in answers)
    nearest = [max(len(set(content_words(u["text"])) & words) for words in answers.values())
               for u in answer_set.unrelated] if answers else [0]
    return (f"repeats sharing 0/1/2 content words: {shared[0]}/{shared[1]}/{shared[2]}; "
            f"unrelated asks share {sum(nearest) / len(nearest):.1f} on average with their nearest answer")


def main(paths: list[str]) -> int:
    checked = [Path(p).resolve() for p in paths]
    others = [d for d in [*sorted((HERE / "train").iterdir()), HERE / "eval", HERE / "heldout"]
              if d.is_dir() and d.resolve() not in checked]
    elsewhere = {_key(t) for d in others for t in _texts(load(d))}
    broken = 0
    for path in checked:
        answer_set = load(path)
        found = problems(answer_set, elsewhere)
        print(f"{answer_set.name}: {overlap(answer_set)}; {len(found)} problems")
        for problem in found:
            print(f"  {problem}")
        broken += bool(found)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
