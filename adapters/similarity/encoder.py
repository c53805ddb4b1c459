"""What the search makes of texts with the language model: an answer's blob, a question's
vector and words."""

from __future__ import annotations

import numpy as np

from adapters.similarity.index import entry_words, pack
from adapters.similarity.minilm import MODEL_ID, MiniLM
from adapters.similarity.words import word_hashes

# Names the vectors' model and their layout: a change makes every answer's vector again.
VECTOR_MODEL = f"{MODEL_ID}/lnv2"


def answer_blob(model: MiniLM, question: str, note: str | None) -> bytes:
    """An answer's vectors (question + note: adapted, published) and word hashes, packed."""
    return pack(model.embed_both(f"{question} {note}" if note else question),
                *entry_words(question, note))


def question_vector(model: MiniLM, question: str) -> tuple[np.ndarray, np.ndarray]:
    """A new question's vectors (adapted, published) and word hashes."""
    return model.embed_both(question), word_hashes(question)
