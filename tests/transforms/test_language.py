"""Language detection: platform hints, lingua, the confidence threshold and the batch behaviour."""

from __future__ import annotations

import polars as pl
import pytest

from transforms import language
from transforms.language import detect_languages, normalize_hints


def _detect(texts, hints=None, **kw):
    hint_series = None if hints is None else pl.Series(hints, dtype=pl.String)
    return detect_languages(pl.Series(texts, dtype=pl.String), hint_series, **kw).to_list()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("en", "en"), ("en-GB", "en"), ("zh-Hant", "zh"), ("pt_BR", "pt"), (" FR ", "fr"), ("in", "id"),
     ("iw", "he"), ("und", None), ("zxx", None), ("qme", None), ("", None), (None, None), ("english", None)],
)
def test_hints_are_normalised(raw, expected):
    assert normalize_hints(pl.Series([raw], dtype=pl.String)).to_list() == [expected]


def test_a_platform_hint_wins_unless_it_says_no_language():
    french = "Bonjour à tous, la ville est vraiment magnifique ce soir"
    assert _detect([french, french, french], ["en", "und", "zxx"]) == ["en", "fr", "fr"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The view of the river from the cable car at night is absolutely stunning", "en"),
        ("重庆的夜景真的太美了，下次一定还要再去一次", "zh"),
        ("Очень красивый город, обязательно поеду туда следующим летом", "ru"),
        ("C'est une ville magnifique, j'ai vraiment hâte d'y retourner", "fr"),
        ("Eine wunderschöne Stadt, da will ich unbedingt noch einmal hin", "de"),
        ("Es una ciudad preciosa, quiero volver el próximo verano", "es"),
        ("مدينة جميلة جدا وأتمنى زيارتها في الصيف القادم", "ar"),
        ("重慶の夜景は本当にきれいで、また行ってみたいです", "ja"),
        ("충칭 야경이 정말 멋져요 다음에 꼭 다시 가고 싶어요", "ko"),
    ],
)
def test_clear_texts_are_recognised(text, expected):
    assert _detect([text]) == [expected]


def test_texts_without_letters_or_missing_are_und():
    assert _detect(["😍😍", "", None, "12345", "https://example.com"]) == ["und"] * 5


def test_below_the_confidence_threshold_the_answer_is_und():
    text = "The view of the river from the cable car at night is absolutely stunning"
    assert _detect([text], min_confidence=1.01) == ["und"]
    # Two languages neck and neck: a margin larger than any gap refuses to choose.
    assert _detect([text], min_margin=1.01) == ["und"]


def test_identical_texts_are_detected_once(monkeypatch):
    seen: list[list[str]] = []
    real = language._lingua

    def spy(texts, *args):
        seen.append(list(texts))
        return real(texts, *args)

    monkeypatch.setattr(language, "_lingua", spy)
    out = _detect(["Beautiful city"] * 50 + ["Wunderschöne Stadt"] * 50)
    assert sum(len(batch) for batch in seen) == 2
    assert len(out) == 100 and out[0] == out[49]


def test_accuracy_mode_follows_the_length_of_the_text(monkeypatch):
    modes: dict[bool, list[str]] = {}

    def fake(texts, languages, high, *args):
        modes.setdefault(high, []).extend(texts)
        return ["en"] * len(texts)

    monkeypatch.setattr(language, "_lingua", fake)
    short = "So beautiful"
    long = "A long travel report about the city of Chongqing and its bridges, stairs and rivers " * 3
    _detect([short, long])
    assert modes[True] == [short]
    assert len(modes[False]) == 1 and len(modes[False][0]) <= language.MAX_CHARS
    modes.clear()
    _detect([short, long], high_accuracy=True)
    assert list(modes) == [True]


def test_one_answer_per_text_in_order():
    texts = ["Hello, what a beautiful city this is", None, "这是哪里？请问怎么去", "😍"]
    out = detect_languages(pl.Series(texts, dtype=pl.String))
    assert out.len() == 4 and out.dtype == pl.String
    assert out.to_list()[1] == "und" and out.to_list()[3] == "und"


def test_hints_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError):
        detect_languages(pl.Series(["a", "b"]), pl.Series(["en"]))


def test_korean_mixed_with_english_is_korean():
    texts = pl.Series(["오늘 Chongqing night view 진짜 최고", "I visited Chongqing last year, amazing 최고",
                       "충칭 가보고 싶어요"])
    # The second is mostly English: two Hangul syllables (weighing 6 letters) beside 31 Latin letters.
    assert detect_languages(texts).to_list() == ["ko", "en", "ko"]
