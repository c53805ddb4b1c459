"""The words the search compares: lower-case runs of letters and digits, common English
words left out, each kept as a stable 32-bit hash (the same in every process)."""

from __future__ import annotations

import re
import zlib

import numpy as np

from bot.text import COMMON_WORDS

_WORD = re.compile(r"[a-z0-9]+")


def content_words(text: str) -> list[str]:
    """The words of text that tell one problem from another, in order, each once."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) > 1 and word not in COMMON_WORDS:
            seen.setdefault(word, None)
    return list(seen)


def word_hash(word: str) -> int:
    return zlib.crc32(word.encode())


def word_hashes(text: str) -> np.ndarray:
    """content_words as sorted unique uint32 hashes."""
    hashes = {word_hash(word) for word in content_words(text)}
    return np.array(sorted(hashes), dtype=np.uint32)
