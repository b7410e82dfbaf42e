"""Synthetic comments for the classification benchmark: distinct texts in the languages the city sees.

Each text joins a few phrases of one language (our own, not the labelled sets) and a serial number, so
every row is distinct: the classifier cannot reuse an outcome, which is the worst case of a week.
"""

from __future__ import annotations

import random

import polars as pl

PHRASES: dict[str, list[str]] = {
    "en": ["I love this city", "the night view is stunning", "how do I get to Hongyadong", "too crowded",
           "check my channel", "can't wait to visit", "the hotpot was too spicy", "not worth it", "amazing bridges"],
    "es": ["qué ciudad tan bonita", "quiero ir algún día", "demasiada gente", "la comida es increíble"],
    "fr": ["ville magnifique", "je veux y aller", "trop de monde", "la cuisine est délicieuse"],
    "de": ["wunderschöne Stadt", "ich will dorthin", "zu viele Leute", "das Essen ist lecker"],
    "ar": ["مدينة جميلة جدا", "أريد أن أزورها", "مزدحمة جدا"],
    "pt": ["que cidade linda", "quero muito ir", "muita gente"],
    "it": ["che bella città", "ci voglio andare", "troppa gente"],
    "zh": ["重庆的夜景太美了", "火锅太辣了", "我想去重庆旅游", "人太多了"],
    "ru": ["очень красивый город", "хочу поехать", "слишком много людей"],
    "ja": ["重慶の夜景はきれい", "行ってみたい", "人が多すぎる"],
    "ko": ["충칭 야경 너무 예뻐요", "가보고 싶어요", "사람이 너무 많아요"],
}


def synthetic_comments(rows: int, seed: int = 0) -> pl.DataFrame:
    """``rows`` distinct comments (comment_id, platform, text, language_raw null), reproducible by ``seed``."""
    rng = random.Random(seed)
    languages = sorted(PHRASES)
    texts = []
    for i in range(rows):
        phrases = PHRASES[languages[rng.randrange(len(languages))]]
        texts.append(f"{' '.join(rng.choice(phrases) for _ in range(rng.randint(1, 3)))} {i}")
    return pl.DataFrame({
        "comment_id": [str(i) for i in range(rows)], "platform": ["youtube"] * rows, "text": texts,
        "language_raw": pl.Series([None] * rows, dtype=pl.String),
    })
