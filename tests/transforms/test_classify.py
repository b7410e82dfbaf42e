"""Lexicon-based classification: every class fires in several languages, negation and spam take
precedence as documented, uncovered languages are not rated, rules name the words that fired, and a
malformed lexicon file is refused with a message naming the file and the entry.

Comments are classified here by the lexicons alone (``NO_MODELS``), the layer a team edits; the trained
models that come after them are tested in ``test_comment_models.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from cityimage.citypack import load_pack
from transforms.classify import (
    LEXICON_DIR,
    THEMES,
    LexiconError,
    classify_comments,
    classify_posts,
    load_lexicons,
)
from transforms.textmodel import NO_MODELS

CITY = ["Chongqing", "重庆", "重慶", "Чунцин", "충칭", "#chongqing"]


@pytest.fixture(scope="module")
def lex():
    return load_lexicons()


def comments(lex, texts, hints=None):
    """Classify comments; a language hint per text keeps these tests independent of lingua."""
    n = len(texts)
    frame = pl.DataFrame(
        {
            "comment_id": [f"c{i}" for i in range(n)],
            "platform": ["facebook"] * n,
            "text": pl.Series(texts, dtype=pl.String),
            "language_raw": pl.Series(hints if hints is not None else [None] * n, dtype=pl.String),
        }
    )
    return classify_comments(frame, lex, models=NO_MODELS)


def one(lex, text, hint=None) -> dict:
    return comments(lex, [text], [hint]).row(0, named=True)


def posts(lex, texts, hints=None, titles=None):
    n = len(texts)
    frame = pl.DataFrame(
        {
            "post_id": [f"p{i}" for i in range(n)],
            "platform": ["instagram"] * n,
            "title": pl.Series(titles if titles is not None else [None] * n, dtype=pl.String),
            "text": pl.Series(texts, dtype=pl.String),
            "language_raw": pl.Series(hints if hints is not None else [None] * n, dtype=pl.String),
        }
    )
    return classify_posts(frame, lex, CITY)


def post(lex, text, hint=None) -> dict:
    return posts(lex, [text], [hint]).row(0, named=True)


def fired(row: dict, prefix: str) -> list[str]:
    return [r for r in row["rules"] if r.startswith(prefix)]


# ---------------------------------------------------------------------------------------------
# Comment acts, one hand-written example per language
# ---------------------------------------------------------------------------------------------

PRAISE = [
    ("en", "So beautiful!", "beautiful"),
    ("zh", "太美了", "太美"),
    ("ru", "Очень красиво", "красив*"),
    ("fr", "Magnifique", "magnifique*"),
    ("de", "Wunderschön", "wunderschön*"),
    ("es", "Qué hermoso", "hermos*"),
    ("ar", "جميل جدا", "*جميل*"),
    ("ja", "綺麗ですね", "綺麗"),
    ("ko", "너무 예뻐요", "예뻐"),
]
QUESTION = [
    ("en", "how do I get to Hongyadong from the airport", "how do"),
    ("zh", "这是哪里", "哪里"),
    ("ru", "Где это", "где"),
    ("fr", "Comment aller au centre", "comment"),
    ("de", "Wo ist das", "wo ist"),
    ("es", "Cuánto cuesta el teleférico", "cuánto cuesta"),
    ("ar", "كيف أصل إلى المطار", "كيف"),
    ("ja", "空港からどうやって行く", "どうやって"),
    ("ko", "공항에서 어떻게 가나요", "어떻게"),
]
INTENT = [
    ("en", "Can't wait to go!", "can't wait"),
    ("zh", "好想去", "好想去"),
    ("ru", "Хочу туда поехать", "хочу туда"),
    ("fr", "J'ai hâte d'y aller", "j'ai hâte"),
    ("de", "Da will ich unbedingt hin", "unbedingt hin"),
    ("es", "Quiero ir algún día", "quiero ir"),
    ("ar", "أتمنى زيارة الصين", "أتمنى زيارة"),
    ("ja", "重慶に行ってみたい", "行ってみたい"),
    ("ko", "가보고 싶어요", "가보고 싶"),
]
COMPLAINT = [
    ("en", "Too crowded and overpriced", "overpriced"),
    ("zh", "太贵了", "太贵"),
    ("ru", "Грязно и шумно", "грязн*"),
    ("fr", "Trop cher pour ce que c'est", "trop cher"),
    ("de", "Viel zu teuer", "teuer*"),
    ("es", "Muy caro", "muy caro"),
    ("ar", "زحمة كثيرة", "*زحمة*"),
    ("ja", "最悪の旅行", "最悪"),
    ("ko", "최악이에요", "최악"),
]
SPAM = [
    ("en", "Follow me for more travel videos", "follow me"),
    ("zh", "加微信领取", "加微信"),
    ("ru", "Подпишись на мой канал", "подпишись на"),
    ("fr", "Suivez-moi pour plus de vidéos", "suivez-moi"),
    ("de", "Folge mir für mehr Videos", "folge mir"),
    ("es", "Sígueme para más videos", "sígueme"),
    ("ar", "تابعني على حسابي", "تابعني"),
    ("ja", "相互フォロー募集中", "相互フォロー"),
    ("ko", "맞팔해요", "맞팔"),
]


@pytest.mark.parametrize(("lang", "text", "term"), PRAISE)
def test_praise_fires_and_names_its_word(lex, lang, text, term):
    row = one(lex, text, lang)
    assert row["is_praise"] and not row["is_spam"]
    assert f'act.praise:"{term}"@{lang}' in row["rules"]
    assert row["sentiment"] == "positive"


@pytest.mark.parametrize(("lang", "text", "term"), QUESTION)
def test_questions_fire_without_a_question_mark(lex, lang, text, term):
    row = one(lex, text, lang)
    assert row["is_question"]
    assert f'act.question:"{term}"@{lang}' in row["rules"]


@pytest.mark.parametrize(("lang", "text", "term"), INTENT)
def test_travel_intent_fires(lex, lang, text, term):
    row = one(lex, text, lang)
    assert row["is_travel_intent"]
    assert f'act.travel_intent:"{term}"@{lang}' in row["rules"]
    assert row["sentiment"] == "positive"


@pytest.mark.parametrize(("lang", "text", "term"), COMPLAINT)
def test_complaints_fire(lex, lang, text, term):
    row = one(lex, text, lang)
    assert row["is_complaint"] and not row["is_praise"]
    assert f'act.complaint:"{term}"@{lang}' in row["rules"]
    assert row["sentiment"] == "negative"


@pytest.mark.parametrize(("lang", "text", "term"), SPAM)
def test_spam_fires(lex, lang, text, term):
    row = one(lex, text, lang)
    assert row["is_spam"]
    assert f'act.spam:"{term}"@{lang}' in row["rules"]


def test_a_question_mark_is_a_question_in_any_language(lex):
    for text, hint in [("¿Dónde es esto?", "es"), ("这是哪里？", "zh"), ("أين هذا؟", "ar"), ("Onde fica?", "pt")]:
        assert one(lex, text, hint)["is_question"], text


def test_spam_by_link_or_contact_plus_sales_words(lex):
    assert one(lex, "Cheap flights to China at www.cheapflights.xyz", "en")["is_spam"]
    assert one(lex, "iPhone for sale, whatsapp +1 555 234 9876", "en")["is_spam"]
    # A link alone, or a sales word alone, is not spam.
    assert not one(lex, "The official guide is at www.visitchongqing.com", "en")["is_spam"]
    assert not one(lex, "The food is so cheap there", "en")["is_spam"]


def test_repeated_characters_and_emoji_floods_are_spam(lex):
    out = comments(lex, ["aaaaaaaaaaaaaa", "🔥" * 15, "😍😂" * 8, "😍😍😍"])
    assert out["is_spam"].to_list() == [True, True, True, False]
    assert "act.spam:repeated_character" in out["rules"][0].to_list()
    assert "act.spam:emoji_flood" in out["rules"][2].to_list()


# ---------------------------------------------------------------------------------------------
# Negation and precedence
# ---------------------------------------------------------------------------------------------


def test_negated_praise_is_a_complaint(lex):
    row = one(lex, "Not beautiful at all, just concrete", "en")
    assert not row["is_praise"] and row["is_complaint"]
    assert 'act.complaint:"beautiful"@en[negated:"not"]' in row["rules"]
    assert row["sentiment"] == "negative"
    assert any(r.startswith('sentiment:"beautiful"@en=-') and 'negated:"not"' in r for r in row["rules"])


def test_negated_complaint_is_praise(lex):
    for text, hint in [("Not bad at all", "en"), ("나쁘지 않네요", "ko"), ("Nicht schlecht", "de"), ("悪くない", "ja")]:
        row = one(lex, text, hint)
        assert row["is_praise"] and not row["is_complaint"], text
        assert row["sentiment"] == "positive", text


def test_negation_after_the_word_in_japanese_and_korean(lex):
    for text, hint in [("あまり綺麗じゃない", "ja"), ("별로 안 예뻐요", "ko")]:
        row = one(lex, text, hint)
        assert row["is_complaint"] and not row["is_praise"], text


def test_negation_stops_at_punctuation_and_inside_phrases(lex):
    assert one(lex, "No, it is beautiful", "en")["is_praise"]
    assert one(lex, "I can't believe how beautiful this is", "en")["is_praise"]
    row = one(lex, "火锅不错", "zh")  # 不错 is praise, its 不 negates nothing
    assert row["is_praise"] and row["sentiment"] == "positive"


def test_the_negator_inside_an_intent_phrase_negates_nothing_after_it(lex):
    row = one(lex, "Can't wait to go 😍", "en")  # the "can't" of "can't wait" does not reach 😍
    assert row["is_travel_intent"] and row["is_praise"]
    assert row["sentiment"] == "positive"
    assert not any("negated" in r for r in row["rules"])


def test_negated_travel_intent_is_cancelled(lex):
    row = one(lex, "I don't want to go there", "en")
    assert not row["is_travel_intent"]
    assert row["sentiment"] == "negative"


def test_spam_is_decided_before_everything_else(lex):
    row = one(lex, "Beautiful!! Check my profile for cheap flights bit.ly/cheapcn", "en")
    assert row["is_spam"]
    assert not (row["is_praise"] or row["is_question"] or row["is_travel_intent"] or row["is_complaint"])
    assert row["sentiment"] == "not_rated" and row["sentiment_score"] is None
    assert "sentiment.not_rated:spam" in row["rules"]
    assert not fired(row, "act.praise")


def test_a_language_without_a_sentiment_lexicon_is_not_rated(lex):
    for text, hint in [("Que lindo! Quero muito ir", "pt"), ("Che bello, ci voglio andare", "it"),
                       ("Maravilhoso 😍😍", "pt")]:
        row = one(lex, text, hint)
        assert row["sentiment"] == "not_rated" and row["sentiment_score"] is None, text
        assert f"sentiment.not_rated:language={hint}" in row["rules"]


def test_empty_comments_are_not_rated_and_do_nothing(lex):
    out = comments(lex, ["", None, "   "])
    assert out["sentiment"].to_list() == ["not_rated"] * 3
    for col in ("is_spam", "is_question", "is_praise", "is_travel_intent", "is_complaint"):
        assert out[col].to_list() == [False] * 3
    assert "sentiment.not_rated:empty" in out["rules"][0].to_list()


def test_emoji_only_comments_are_rated_on_their_emoji(lex):
    out = comments(lex, ["😍", "🤮", "👀"])
    assert out["language"].to_list() == ["und"] * 3
    assert out["sentiment"].to_list() == ["positive", "negative", "neutral"]
    assert out["is_praise"].to_list() == [True, False, False]


def test_the_sentiment_score_is_vaders_compound(lex):
    row = one(lex, "nice", "en")  # VADER: nice = 1.8 -> 1.8 / sqrt(1.8² + 15)
    assert row["sentiment_score"] == pytest.approx(1.8 / (1.8**2 + 15) ** 0.5)


def test_a_contrast_word_weighs_what_follows(lex):
    row = one(lex, "Beautiful but dirty and polluted", "en")
    assert row["sentiment"] == "negative"
    assert any('[before "but"]' in r for r in row["rules"])


def test_accents_case_and_traditional_chinese_are_folded(lex):
    assert one(lex, "MAGNIFIQUE", "fr")["is_praise"]
    assert one(lex, "increible ciudad", "es")["is_praise"]  # written without the accent
    assert one(lex, "重慶真的好漂亮", "zh")["is_praise"]  # traditional 慶
    assert one(lex, "ｎｉｃｅ", "en")["is_praise"]  # full-width


def test_german_umlauts_are_not_dropped(lex):
    assert one(lex, "Schön!", "de")["is_praise"]
    assert not one(lex, "Ich war schon dort", "de")["is_praise"]  # schon = already


def test_a_term_fires_only_in_its_language_or_english(lex):
    # German "die" is an article, not VADER's English "die" (-2.9).
    row = one(lex, "Die Stadt ist wunderschön", "de")
    assert row["sentiment"] == "positive" and not any('"die"@en' in r for r in row["rules"])
    # English fragments count in other languages.
    assert one(lex, "Chongqing es hermoso, can't wait to go", "es")["is_travel_intent"]


def test_comment_output_shape(lex):
    texts = ["nice", "Where is this?", None, "Follow me", "太美了"]
    out = comments(lex, texts)
    assert out.columns == ["comment_id", "platform", "language", "is_spam", "is_question", "is_praise",
                           "is_travel_intent", "is_complaint", "sentiment", "sentiment_score", "rules"]
    assert out.height == len(texts) and out["comment_id"].to_list() == [f"c{i}" for i in range(len(texts))]
    assert out.schema["rules"] == pl.List(pl.String) and out.schema["sentiment_score"] == pl.Float64
    assert set(out["sentiment"].to_list()) <= {"positive", "neutral", "negative", "not_rated"}
    assert all(rules[0].startswith("language:") for rules in out["rules"].to_list())


def test_language_comes_from_lexicon_words_when_lingua_cannot_tell(lex):
    row = one(lex, "No está nada mal")  # lingua hesitates between Spanish and Portuguese
    assert row["language"] == "es"
    assert "language:lexicon=es" in row["rules"]
    assert row["is_praise"] and row["sentiment"] == "positive"


# ---------------------------------------------------------------------------------------------
# Posts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "rule"),
    [
        ("en", "The Hongyan memorial tells the wartime story", 'theme.culture:"hongyan"@en'),
        ("zh", "巴渝文化和川剧变脸", 'theme.culture:"巴渝"@zh'),
        ("ru", "Сычуаньская опера и смена масок", 'theme.culture:"смена масок"@ru'),
        ("fr", "Le patrimoine de Chongqing", 'theme.culture:"patrimoine"@fr'),
        ("de", "Die Geschichte der Kriegshauptstadt", 'theme.culture:"kriegshauptstadt"@de'),
        ("es", "El patrimonio cultural de la ciudad", 'theme.culture:"patrimonio"@es'),
        ("ar", "التراث الثقافي للمدينة", 'theme.culture:"*تراث*"@ar'),
        ("ja", "重慶の歴史と文化", 'theme.culture:"歴史"@ja'),
        ("ko", "충칭의 역사와 문화", 'theme.culture:"역사"@ko'),
    ],
)
def test_the_culture_theme_fires_in_every_language(lex, lang, text, rule):
    row = post(lex, text, lang)
    assert "culture" in row["themes"]
    assert rule in row["rules"]


def test_every_theme_fires(lex):
    examples = {
        "culture": "Dazu rock carvings are world heritage", "food": "The spiciest hotpot of my life",
        "scenery": "Night view of the skyline", "economy": "GDP growth and foreign investment",
        "livelihood": "Rent and the cost of living here", "infrastructure": "The monorail and the cable car",
        "events": "Lantern festival this weekend",
    }
    out = posts(lex, list(examples.values()), ["en"] * len(examples))
    for theme, themes in zip(examples, out["themes"].to_list()):
        assert theme in themes, theme
    assert set(examples) == set(THEMES)


@pytest.mark.parametrize(
    ("lang", "text", "label", "rule"),
    [
        ("en", "Welcome to the mountain city", "mountain_city", 'label.mountain_city:"mountain city"@en'),
        ("zh", "桥都重庆", "bridge_city", 'label.bridge_city:"桥都"@zh'),
        ("ru", "Чунцин — город в горах", "mountain_city", 'label.mountain_city:"город в горах"@ru'),
        ("fr", "La ville des ponts", "bridge_city", 'label.bridge_city:"ville des ponts"@fr'),
        ("de", "Die Bergstadt am Jangtse", "mountain_city", 'label.mountain_city:"bergstadt"@de'),
        ("es", "La ciudad de la niebla", "fog_city", 'label.fog_city:"ciudad de la niebla"@es'),
        ("ar", "مدينة الضباب", "fog_city", 'label.fog_city:"مدينة الضباب"@ar'),
        ("ja", "サイバーパンクな街", "cyberpunk", 'label.cyberpunk:"サイバーパンク"@ja'),
        ("ko", "8D 도시 충칭", "3d_8d_magic", 'label.3d_8d_magic:"8d 도시"@ko'),
        ("en", "World's largest municipality", "largest_municipality",
         'label.largest_municipality:"largest municipality"@en'),
    ],
)
def test_city_labels_fire(lex, lang, text, label, rule):
    row = post(lex, text, lang)
    assert label in row["labels"]
    assert rule in row["rules"]


def test_hashtags_and_substrings(lex):
    row = post(lex, "Dinner tonight #ChongqingHotpot #cyberpunkcity", "en")
    assert {"hotpot", "cyberpunk"} <= set(row["labels"])
    assert row["is_city_mention"]
    assert "hotpot" in post(lex, "我爱重庆火锅", "zh")["labels"]  # Chinese matches inside words


def test_word_boundaries_in_spaced_scripts(lex):
    assert "culture" in post(lex, "An evening of Sichuan opera", "en")["themes"]
    assert "culture" not in post(lex, "The cooperation agreement", "en")["themes"]
    assert "economy" not in post(lex, "We will reinvestigate", "en")["themes"]


def test_places_lynch_elements_and_the_longest_name(lex):
    row = post(lex, "Sunset from the Chaotianmen Yangtze River Bridge, then Hongyadong and Jiefangbei", "en")
    assert row["places"] == ["chaotianmen_bridge", "hongyadong", "jiefangbei"]
    assert row["lynch_elements"] == ["districts", "landmarks", "paths"]
    assert 'place.hongyadong:"Hongyadong"@en' in row["rules"]
    zh = post(lex, "洪崖洞和解放碑步行街，南滨路", "zh")
    assert zh["places"] == ["hongyadong", "jiefangbei_cbd", "nanbin_road"]
    assert zh["lynch_elements"] == ["edges", "landmarks", "nodes"]


def test_city_mentions(lex):
    out = posts(lex, ["A day in Chongqing", "夜游洪崖洞", "Hangzhou's West Lake at dawn", "Чунцин ночью"],
                ["en", "zh", "en", "ru"])
    assert out["is_city_mention"].to_list() == [True, True, False, True]
    assert 'city:"Chongqing"' in out["rules"][0].to_list()
    assert out["rules"][1].to_list().count('place.hongyadong:"洪崖洞"@zh') == 1


def test_a_post_without_any_theme_is_other(lex):
    row = post(lex, "Good morning everyone!", "en")
    assert row["themes"] == [] and row["labels"] == [] and row["places"] == []


def test_title_and_text_are_both_read_and_may_be_null(lex):
    titles = ["Hotpot in Chongqing", None, None]
    out = posts(lex, [None, "Cable car tonight", None], ["en", "en", None], titles=titles)
    assert "food" in out["themes"][0].to_list() and out["is_city_mention"][0]
    assert "infrastructure" in out["themes"][1].to_list()
    assert out.row(2, named=True)["themes"] == [] and out["language"][2] == "und"


def test_post_output_shape(lex):
    out = posts(lex, ["Chongqing", "重庆"], ["en", "zh"])
    assert out.columns == ["post_id", "platform", "language", "themes", "labels", "places", "lynch_elements",
                           "is_city_mention", "rules"]
    for col in ("themes", "labels", "places", "lynch_elements", "rules"):
        assert out.schema[col] == pl.List(pl.String)
    assert out["post_id"].to_list() == ["p0", "p1"]


def test_large_frames_are_classified_in_chunks_with_the_same_result(lex):
    from transforms.facts import classifiers
    from cityimage.citypack import load_pack
    from cityimage.profile import load_profile

    texts = ["So beautiful", "Follow me", "Where is this?", "太贵了", None] * 3
    hints = ["en", "en", "en", "zh", None] * 3
    whole = comments(lex, texts, hints)
    frame = whole.select("comment_id", "platform").with_columns(text=pl.Series(texts, dtype=pl.String),
                                                                language_raw=pl.Series(hints, dtype=pl.String))
    assert classify_comments(frame, lex, models=NO_MODELS, chunk_rows=4).equals(whole)
    inputs = frame.select(pl.col("comment_id").alias("input_sha256"), "text", "language_raw")
    profile = load_profile(load_pack().profile_path)
    chunked = classifiers(lex, profile, chunk_rows=4).classify_texts(inputs)
    assert chunked.equals(classifiers(lex, profile).classify_texts(inputs))


# ---------------------------------------------------------------------------------------------
# Lexicon files
# ---------------------------------------------------------------------------------------------


def test_the_version_names_every_file_and_a_content_hash(lex):
    names = ("themes@", "labels@", "acts@", "sentiment@", "gazetteer@", "modifiers@", "normalization@", "vader@")
    for name in names:
        assert name in lex.version
    assert lex.rated_languages >= {"en", "zh", "ru", "fr", "de", "es", "ar", "ja", "ko"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "lexicons"
    shutil.copytree(LEXICON_DIR, target)
    shutil.copytree(load_pack("chongqing").lexicon_dir, target, dirs_exist_ok=True)  # a complete set in one folder
    return target


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_city_adds_terms_to_the_universal_themes_and_acts_without_copying_them(tmp_path: Path, lex):
    pack = tmp_path / "lexicons"
    shutil.copytree(load_pack("hangzhou").lexicon_dir, pack)
    before = load_lexicons(pack)
    assert post(before, "Liangzhu ruins at dawn", "en")["themes"] == []
    (pack / "themes.city.yaml").write_text("version: 1\nthemes:\n  culture:\n    en: [liangzhu, \"grand canal\"]\n",
                                           encoding="utf-8")
    (pack / "acts.city.yaml").write_text("version: 1\nacts:\n  travel_intent:\n    en: [\"off to hangzhou\"]\n",
                                         encoding="utf-8")
    added = load_lexicons(pack)
    row = post(added, "Liangzhu ruins at dawn", "en")
    assert row["themes"] == ["culture"] and fired(row, "theme.culture:\"liangzhu\"@en")
    assert post(added, "Temple at dawn", "en")["themes"] == ["culture"]  # the universal terms stay
    assert comments(added, ["Off to Hangzhou next week"], ["en"])["is_travel_intent"][0]
    assert added.version != before.version
    (pack / "themes.city.yaml").write_text("version: 1\nthemes:\n  sports:\n    en: [football]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="themes.city.yaml: themes: unknown key 'sports'"):
        load_lexicons(pack)


def test_the_version_changes_with_the_content(folder, lex):
    _edit(folder, "themes.yaml", "    en: [culture, cultural,", "    en: [culture, cultural, pagodas,")
    assert load_lexicons(folder).version != lex.version


def test_comments_and_layout_are_not_part_of_the_version(folder, lex):
    """Editing a file's comments or spacing changes no outcome: the texts are not classified again."""
    assert load_lexicons(folder).version == lex.version
    _edit(folder, "themes.yaml", "# Themes of a post", "# Themes of a post, as the study names them")
    _edit(folder, "themes.yaml", "    en: [culture, cultural,", "    en:   [culture,   cultural,")
    assert load_lexicons(folder).version == lex.version


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "themes.yaml",
            "  events:\n",
            "  sports:\n    en: [football]\n  events:\n",
            "themes.yaml: themes: unknown key 'sports'",
        ),
        (
            "themes.yaml",
            "version: 1",
            "version: 1\ncolour: blue",
            "themes.yaml: top level: unknown key 'colour'",
        ),
        (
            "labels.yaml",
            "    en: [\"mountain city\",",
            "    xx: [\"mountain city\",",
            "labels.yaml: labels.mountain_city: unknown key 'xx'",
        ),
        (
            "acts.yaml",
            "    en: [beautiful, beauty,",
            "    en: [yes, beautiful, beauty,",
            "acts.yaml: acts.praise.en[0]: expected text, got True",
        ),
        (
            "acts.yaml",
            "    en: [beautiful, beauty,",
            "    en: [beautiful, Beautiful, beauty,",
            "acts.yaml: acts.praise.en[1] 'Beautiful': listed twice",
        ),
        (
            "acts.yaml",
            "    en: [beautiful, beauty,",
            "    en: [beau*tiful, beauty,",
            "acts.yaml: acts.praise.en 'beau*tiful': a * may only",
        ),
        (
            "acts.yaml",
            "    en: [beautiful, beauty,",
            "    en: [\"!!!\", beauty,",
            "acts.yaml: acts.praise.en '!!!': nothing left to match",
        ),
        (
            "acts.yaml",
            "  repeated_character_min: 10",
            "  repeated_character_min: ten",
            "acts.yaml: spam_features.repeated_character_min",
        ),
        (
            "acts.yaml",
            "  phone: '",
            "  phone: '([unclosed",
            "acts.yaml: spam_features.phone: invalid regular expression",
        ),
        (
            "gazetteer.yaml",
            "    elements: [landmarks]\n    names:\n      en: [Hongyadong,",
            "    elements: [monuments]\n    names:\n      en: [Hongyadong,",
            "gazetteer.yaml: places.hongyadong.elements: unknown element 'monuments'",
        ),
        (
            "sentiment.yaml",
            "    好美: 2.8",
            "    好美: 9",
            "sentiment.yaml: words.zh.好美: expected a number between -4 and 4",
        ),
        ("sentiment.yaml", "    好美: 2.8", "    好美: 2.8\n    好美: 2.0", "sentiment.yaml: line"),
        (
            "modifiers.yaml",
            "window_before: 3",
            "window_before: 3\nwindow_sideways: 2",
            "modifiers.yaml: top level: unknown key 'window_sideways'",
        ),
        (
            "normalization.yaml",
            "version: 1",
            "version: one",
            "normalization.yaml: `version` must be a whole number",
        ),
    ],
)
def test_malformed_lexicons_are_refused_with_the_file_and_entry(folder, name, old, new, message):
    _edit(folder, name, old, new)
    with pytest.raises(LexiconError) as info:
        load_lexicons(folder)
    assert message in str(info.value)


def test_a_missing_lexicon_file_is_an_error(folder):
    (folder / "labels.yaml").unlink()
    with pytest.raises(LexiconError, match="labels.yaml"):
        load_lexicons(folder)


def test_an_edited_lexicon_changes_the_classification(folder):
    _edit(folder, "labels.yaml", "  furnace:\n", "  tea_city:\n    en: [\"tea capital\"]\n  furnace:\n")
    lex = load_lexicons(folder)
    row = post(lex, "Welcome to the tea capital", "en")
    assert row["labels"] == ["tea_city"]
    assert 'label.tea_city:"tea capital"@en' in row["rules"]
