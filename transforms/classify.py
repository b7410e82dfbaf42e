"""Classification of posts and comments by lexicons a communication team can read, trust and edit.

Word lists in ``transforms/lexicons/*.yaml`` decide every class of posts and the acts of comments;
comment spam and sentiment are then completed by the trained models of ``transforms.textmodel``, which
read what the lists found as features and never overrule a list that fired. This module loads and
validates the lists and applies lists and models to frames. Every decision leaves a rule string in the
``rules`` column naming the lexicon, the class, the word as written in the file and its language, e.g.
``theme.culture:"hongyan"@en``, ``label.bridge_city:"桥都"@zh``,
``act.complaint:"beautiful"@en[negated:"not"]``, ``sentiment:"schön*"@de=+2.4``, so a KPI can be traced
back to the words behind it.

How matching works (vectorised, no Python loop per row):
1. texts and terms go through the same normalisation (``normalization.yaml``): compatibility form,
   accents dropped (umlauts kept), traditional Chinese folded, lower case, punctuation to spaces, runs of
   Chinese/Japanese characters set apart by spaces, a space at each end;
2. a term becomes one literal pattern: a bounded side gets a space (" mountain city "), an open side
   none ("красив", "重庆"); all patterns of all lexicons are found in one Aho-Corasick pass per frame
   (``str.extract_many`` + ``str.find_many``, overlapping);
3. hits are joined to the lexicon entries, kept only for the text's language (see ``_allowed``), a hit
   inside a longer hit of the same lexicon is dropped ("Chaotianmen" inside "Chaotianmen Bridge"), and
   negators are paired with the terms they precede or follow within the window of ``modifiers.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import polars as pl
import yaml

import numpy as np

from cityimage.citypack import DEFAULT_PACK, LEXICON_FOLDER, pack_folder
from cityimage.vocabulary import LYNCH_ELEMENTS, THEMES
from cityimage.settings import CLASSIFY_CHUNK_ROWS
from transforms import language as language_mod
from transforms import sentiment as sentiment_mod
from transforms import textmodel
from transforms.textmodel import CommentModels, load_comment_models

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
LEXICON_FILES = ("themes", "labels", "acts", "sentiment", "gazetteer", "modifiers", "normalization")
#: Universal lexicons a city pack may add terms to, without copying them: ``<name>.city.yaml`` in the
#: pack's lexicons, holding only the named section (its themes' or acts' terms by language).
CITY_ADDITIONS = {"themes": "themes", "acts": "acts"}

ACTS: tuple[str, ...] = (
    "question", "praise", "travel_intent", "complaint", "spam", "spam_sales", "spam_contact",
)
LANGUAGE_KEYS = frozenset(language_mod.LANGUAGES) | {"any"}

_KEY = re.compile(r"^[a-z0-9_]+$")
# Chinese and Japanese have no spaces between words: their terms match anywhere.
_UNSPACED = re.compile(
    r"[\u3005\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    r"\U00020000-\U0003134f]"
)
# Korean words take particles and endings on the right: a Korean term is open on the right.
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}\x{3005}"

# Families: where each kind of entry comes from and which texts it may fire in.
#   scope "all": any language (place names, city names); "lang_en": the text's language, English and
#   `any` (or every language when the text's language is unknown); "lang": the text's language and `any`.
_SCOPE = {
    "theme": "lang_en", "label": "lang_en", "place": "all", "city": "all", "act": "lang_en",
    "sentiment": "lang", "sentiment_override": "lang", "negator": "lang_en", "not_negator": "lang_en", "contrast": "lang",
}
# A hit inside a longer hit of the same family is dropped; for these families whatever the class
# (a place inside a longer place, "worth" inside "not worth"), for the others only within one class
# ("hotpot festival" stays food and events).
_CROSS_CLASS = {"place", "act", "sentiment", "sentiment_override", "city", "negator", "not_negator", "contrast"}

_ENTRY_SCHEMA = {
    "family": pl.String, "cls": pl.String, "lang": pl.String, "term": pl.String, "pattern": pl.String,
    "lead": pl.UInt32, "core_len": pl.UInt32, "weight": pl.Float64,
}


class LexiconError(ValueError):
    """A lexicon file is unreadable or breaks a rule; the message names the file and the entry."""


# ----------------------------------------------------------------------------------------------
# Normalisation
# ----------------------------------------------------------------------------------------------

# Accents (combining marks) dropped, except the diaeresis (German umlauts: schön is not schon);
# Arabic short vowels and tatweel; variation selectors, zero-width joiners, emoji skin tones.
_DROP_MARKS = (
    r"[\x{0300}-\x{0307}\x{0309}-\x{036F}\x{0610}-\x{061A}\x{064B}-\x{065F}\x{0670}\x{06D6}-\x{06ED}"
    r"\x{0640}\x{FE00}-\x{FE0F}\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{1F3FB}-\x{1F3FF}]"
)
_URL = r"https?://\S+|www\.\S+"
_EMOJI = r"(\p{Extended_Pictographic}|\p{Regional_Indicator}{2})"
_NOT_KEPT = r"[^\p{L}\p{N}\p{M}\p{Extended_Pictographic}\p{Regional_Indicator}?.,#']+"


@dataclass(frozen=True)
class _Normalizer:
    emoticons: tuple[tuple[str, str], ...] = ()
    folds: tuple[tuple[str, str], ...] = ()

    def expr(self, e: pl.Expr) -> pl.Expr:
        e = e.cast(pl.String).fill_null("")
        if self.emoticons:
            e = e.str.replace_many([a for a, _ in self.emoticons], [f" {b} " for _, b in self.emoticons])
        e = e.str.normalize("NFKD").str.replace_all(_DROP_MARKS, "").str.normalize("NFC")
        e = e.str.replace_all(r"(\p{Ll})(\p{Lu})", "$1 $2").str.to_lowercase()
        if self.folds:
            e = e.str.replace_many([a for a, _ in self.folds], [b for _, b in self.folds])
        e = (
            e.str.replace_all(_URL, " ")
            # French/Italian elision splits (l'enfer -> l enfer), the English possessive goes
            # (Chongqing's -> chongqing), contractions stay one word (can't, won't, i'll).
            .str.replace_all(r"\b([cdjlmnst]|qu)'", "$1 ")
            .str.replace_all(r"'s\b", "")
            .str.replace_all(r"(^|[^\p{L}])'+|'+([^\p{L}]|$)", "$1 $2")
            .str.replace_all(r"[?？؟¿]+", " ? ")
            .str.replace_all(r"[.!。！;；؛]+|[\r\n]+", " . ")
            .str.replace_all(r"[,，、،]+", " , ")
            .str.replace_all("#", " # ", literal=True)
            .str.replace_all(_EMOJI, " $1 ")
            .str.replace_all(_NOT_KEPT, " ")
            .str.replace_all(f"([{_CJK_CLASS}]+)", " $1 ")
            .str.replace_all(" {2,}", " ")
            .str.strip_chars(" ")
        )
        # Every text starts a sentence: " . " in front lets `^` terms match at the start.
        return pl.concat_str([pl.lit(" . "), e, pl.lit(" ")])

    def series(self, s: pl.Series) -> pl.Series:
        return pl.select(self.expr(pl.lit(s))).to_series()


# ----------------------------------------------------------------------------------------------
# Loading and validation
# ----------------------------------------------------------------------------------------------


class _DuplicateKey(Exception):
    pass


class _StrictLoader(yaml.SafeLoader):
    """YAML loader that refuses a key written twice in one mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise _DuplicateKey(f"line {key_node.start_mark.line + 1}: key {key!r} is written twice")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read(folders: list[Path], name: str) -> dict:
    """The lexicon ``name`` from the first of ``folders`` that holds it."""
    path = next((f / f"{name}.yaml" for f in folders if (f / f"{name}.yaml").is_file()), folders[-1] / f"{name}.yaml")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LexiconError(f"{path.name}: cannot read the lexicon file ({exc})") from exc
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_StrictLoader)  # noqa: S506 - strict SafeLoader
    except _DuplicateKey as exc:
        raise LexiconError(f"{path.name}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LexiconError(f"{path.name}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise LexiconError(f"{path.name}: expected a mapping at the top of the file")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LexiconError(f"{path.name}: `version` must be a whole number >= 1, got {version!r}")
    return data


def _content_digest(name: str, data: dict) -> bytes:
    """What the lexicon version hashes of a file: its name and what it says, in its order (an entry
    listed first can win), not how it is written. Comments, layout and quoting change no outcome, so
    editing them classifies nothing again."""
    return name.encode() + b"\0" + json.dumps(data, ensure_ascii=False, default=str).encode()


def _keys(file: str, where: str, value: Any, allowed: set[str],
          required: set[str] | frozenset[str] = frozenset()) -> dict:
    if not isinstance(value, dict):
        raise LexiconError(f"{file}: {where}: expected a mapping, got {type(value).__name__}")
    for key in value:
        if key not in allowed:
            allowed_keys = ", ".join(sorted(allowed))
            raise LexiconError(f"{file}: {where}: unknown key {key!r} (allowed: {allowed_keys})")
    missing = required - set(value)
    if missing:
        raise LexiconError(f"{file}: {where}: missing key(s) {', '.join(sorted(missing))}")
    return value


def _term_list(file: str, where: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LexiconError(f"{file}: {where}: expected a list of terms, got {type(value).__name__}")
    seen: set[str] = set()
    out = []
    for i, term in enumerate(value):
        if not isinstance(term, str):
            hint = " (quote it: YAML reads yes/no/on/off as true/false)" if isinstance(term, bool) else ""
            raise LexiconError(f"{file}: {where}[{i}]: expected text, got {term!r}{hint}")
        key = term.strip().casefold()
        if key in seen:
            raise LexiconError(f"{file}: {where}[{i}] {term!r}: listed twice")
        seen.add(key)
        out.append(term)
    return out


def _by_language(file: str, where: str, value: Any) -> dict[str, list[str]]:
    mapping = _keys(file, where, value, set(LANGUAGE_KEYS))
    return {lang: _term_list(file, f"{where}.{lang}", terms) for lang, terms in mapping.items()}


def _class_terms(file: str, section: str, family: str, classes: dict) -> list[_Raw]:
    """Each class's terms by language, each traced to the file and entry it came from."""
    return [_Raw(family, cls, lang, t, f"{file}: {section}.{cls}.{lang}")
            for cls, langs in classes.items()
            for lang, terms in _by_language(file, f"{section}.{cls}", langs).items() for t in terms]


def _number(file: str, where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
        raise LexiconError(f"{file}: {where}: expected a number between {low} and {high}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class _Raw:
    """One lexicon term before compilation."""

    family: str
    cls: str
    lang: str
    term: str
    where: str
    weight: float | None = None


def _compile(raws: list[_Raw], normalizer: _Normalizer) -> pl.DataFrame:
    """Turn terms into literal patterns (see the module docstring); errors name the file and entry."""
    if not raws:
        return pl.DataFrame(schema=_ENTRY_SCHEMA)
    cores, flags = [], []
    for raw in raws:
        text = raw.term.strip()
        anchored = text.startswith("^")
        text = text[1:] if anchored else text
        open_left = text.startswith("*") and not anchored
        text = text[1:] if open_left else text
        open_right = text.endswith("*")
        text = text[:-1] if open_right else text
        closed_right = not open_right and text.endswith("$") and len(text) > 1
        text = text[:-1] if closed_right else text
        if not text.strip():
            raise LexiconError(f"{raw.where} {raw.term!r}: empty term")
        if "*" in text or "^" in text:
            raise LexiconError(
                f"{raw.where} {raw.term!r}: a * may only open the start or the end of a term, "
                "a ^ only start it"
            )
        cores.append(text)
        flags.append((open_left, open_right, closed_right, text.lstrip().startswith("#"), anchored))
    normalized = normalizer.series(pl.Series(cores, dtype=pl.String)).str.strip_chars(" ").to_list()
    rows = []
    for raw, norm, (open_left, open_right, closed_right, hashtag, anchored) in zip(raws, normalized, flags):
        if norm.startswith(". "):  # the sentence-start marker every normalised text begins with
            norm = norm[2:]
        if not norm or not re.search(r"[^\s.,#']", norm):
            raise LexiconError(f"{raw.where} {raw.term!r}: nothing left to match after normalisation")
        left_open = open_left or bool(_UNSPACED.match(norm[0]))
        right_open = open_right or hashtag or bool(_UNSPACED.match(norm[-1])) or (
            bool(_HANGUL.match(norm[-1])) and not closed_right
        )
        tail = "" if right_open else " "
        # A `^` term matches at the start of a sentence: after the start, a full stop, ? or a comma.
        prefixes = [" . ", " ? ", " , "] if anchored else ["" if left_open else " "]
        for prefix in prefixes:
            pattern = prefix + norm + tail
            core_len = len(norm.encode())
            rows.append((raw.family, raw.cls, raw.lang, raw.term, pattern, len(prefix), core_len, raw.weight))
    return pl.DataFrame(rows, schema=_ENTRY_SCHEMA, orient="row")


@dataclass(frozen=True)
class Lexicons:
    """The validated lexicons, compiled for matching. Build with :func:`load_lexicons`."""

    folder: Path | None  # the folder asked for; None: the default city pack's
    versions: dict[str, int]
    version: str
    normalizer: _Normalizer
    post_entries: pl.DataFrame
    comment_entries: pl.DataFrame
    place_elements: pl.DataFrame
    rated_languages: frozenset[str]
    scoring: dict[str, float]
    window_before: int
    window_after: int
    spam_link: str
    spam_phone: str
    repeated_character_min: int
    symbol_flood_min: int
    raw: dict[str, dict] = field(repr=False, default_factory=dict)

    def normalize(self, texts: pl.Series) -> pl.Series:
        """Texts as the matcher sees them (useful to understand why a term did or did not fire)."""
        return self.normalizer.series(texts)

    def compile_terms(self, family: str, cls: str, terms: list[str], lang: str = "any") -> pl.DataFrame:
        """Compile extra terms (e.g. the city profile's names) with the same rules as the files."""
        raws = [_Raw(family, cls, lang, t, f"{family} term") for t in terms if t and t.strip()]
        return _compile(raws, self.normalizer)


def load_lexicons(folder: Path | None = None) -> Lexicons:
    """Load, validate and compile the lexicons: each file from ``folder`` when it holds it (a city pack's
    ``lexicons/``, or a complete set), else from ``transforms/lexicons`` (the universal ones).

    Without ``folder``, the city files come from the default city pack's: callers that run for a city
    pass its pack's folder (``Settings.lexicon_dir``). The version hashes each file's name and parsed
    content (``_content_digest``), wherever it was read from. Raises :class:`LexiconError` naming the
    file and the entry at the first problem: an unknown key, a term that is not text, a term listed
    twice, a malformed ``*``, a number out of range...
    """
    first = Path(folder) if folder is not None else pack_folder(DEFAULT_PACK) / LEXICON_FOLDER
    folders = [first, LEXICON_DIR]
    data: dict[str, dict] = {}
    hasher = hashlib.sha256()
    for name in LEXICON_FILES:
        data[name] = _read(folders, name)
        hasher.update(_content_digest(name, data[name]))
    added: dict[str, dict] = {}
    for name in CITY_ADDITIONS:
        if (first / f"{name}.city.yaml").is_file():
            added[name] = _read([first], f"{name}.city")
            hasher.update(_content_digest(f"{name}.city", added[name]))

    # normalization.yaml first: every other term goes through it.
    f = "normalization.yaml"
    norm = _keys(f, "top level", data["normalization"], {"version", "emoticons", "folds"})
    pairs: dict[str, tuple[tuple[str, str], ...]] = {}
    for section in ("emoticons", "folds"):
        mapping = norm.get(section) or {}
        _keys(f, section, mapping, set(mapping))
        for k, v in mapping.items():
            if not isinstance(k, str) or not isinstance(v, str) or not k:
                raise LexiconError(f"{f}: {section}: {k!r}: {v!r}: both sides must be text")
        pairs[section] = tuple(mapping.items())
    normalizer = _Normalizer(emoticons=pairs["emoticons"], folds=pairs["folds"])

    raws_post: list[_Raw] = []
    raws_comment: list[_Raw] = []

    # themes.yaml
    f = "themes.yaml"
    themes = _keys(f, "top level", data["themes"], {"version", "themes", "ignore"}, {"themes"})
    theme_map = _keys(f, "themes", themes["themes"], set(THEMES), set(THEMES))
    raws_post += _class_terms(f, "themes", "theme", theme_map)
    if "themes" in added:
        f_city = "themes.city.yaml"
        city = _keys(f_city, "top level", added["themes"], {"version", "themes"}, {"themes"})
        raws_post += _class_terms(f_city, "themes", "theme", _keys(f_city, "themes", city["themes"], set(THEMES)))
    for lang, terms in _by_language(f, "ignore", themes.get("ignore") or {}).items():
        raws_post += [_Raw("theme", "_ignore", lang, t, f"{f}: ignore.{lang}") for t in terms]

    # labels.yaml
    f = "labels.yaml"
    labels = _keys(f, "top level", data["labels"], {"version", "labels", "ignore"}, {"labels"})
    label_map = labels["labels"]
    if not isinstance(label_map, dict) or not label_map:
        raise LexiconError(f"{f}: labels: expected a mapping of label keys")
    for label, langs in label_map.items():
        if not isinstance(label, str) or not _KEY.match(label):
            raise LexiconError(f"{f}: labels: key {label!r} must be lower case letters, digits and _")
        for lang, terms in _by_language(f, f"labels.{label}", langs).items():
            raws_post += [_Raw("label", label, lang, t, f"{f}: labels.{label}.{lang}") for t in terms]
    for lang, terms in _by_language(f, "ignore", labels.get("ignore") or {}).items():
        raws_post += [_Raw("label", "_ignore", lang, t, f"{f}: ignore.{lang}") for t in terms]

    # gazetteer.yaml
    f = "gazetteer.yaml"
    gaz = _keys(f, "top level", data["gazetteer"], {"version", "places"}, {"places"})
    places = gaz["places"]
    if not isinstance(places, dict) or not places:
        raise LexiconError(f"{f}: places: expected a mapping of place keys")
    element_rows = []
    for place, spec in places.items():
        if not isinstance(place, str) or not _KEY.match(place):
            raise LexiconError(f"{f}: places: key {place!r} must be lower case letters, digits and _")
        spec = _keys(f, f"places.{place}", spec, {"elements", "names"}, {"elements", "names"})
        elements = spec["elements"]
        if not isinstance(elements, list) or not elements:
            raise LexiconError(f"{f}: places.{place}.elements: expected a list of Lynch elements")
        for element in elements:
            if element not in LYNCH_ELEMENTS:
                allowed_elements = ", ".join(LYNCH_ELEMENTS)
                raise LexiconError(
                    f"{f}: places.{place}.elements: unknown element {element!r} (allowed: {allowed_elements})"
                )
            element_rows.append((place, element))
        for lang, terms in _by_language(f, f"places.{place}.names", spec["names"]).items():
            raws_post += [_Raw("place", place, lang, t, f"{f}: places.{place}.names.{lang}") for t in terms]
    place_elements = pl.DataFrame(
        element_rows, schema={"cls": pl.String, "element": pl.String}, orient="row"
    ).unique()

    # acts.yaml
    f = "acts.yaml"
    acts = _keys(
        f, "top level", data["acts"],
        {"version", "acts", "spam_features", "ignore"}, {"acts", "spam_features"},
    )
    act_map = _keys(f, "acts", acts["acts"], set(ACTS), set(ACTS))
    raws_comment += _class_terms(f, "acts", "act", act_map)
    if "acts" in added:
        f_city = "acts.city.yaml"
        city = _keys(f_city, "top level", added["acts"], {"version", "acts"}, {"acts"})
        raws_comment += _class_terms(f_city, "acts", "act", _keys(f_city, "acts", city["acts"], set(ACTS)))
    for lang, terms in _by_language(f, "ignore", acts.get("ignore") or {}).items():
        raws_comment += [_Raw("act", "_ignore", lang, t, f"{f}: ignore.{lang}") for t in terms]
    features = _keys(
        f, "spam_features", acts["spam_features"],
        {"link", "phone", "repeated_character_min", "symbol_flood_min"},
        {"link", "phone", "repeated_character_min", "symbol_flood_min"},
    )
    for key in ("link", "phone"):
        pattern = features[key]
        if not isinstance(pattern, str) or not pattern:
            raise LexiconError(f"{f}: spam_features.{key}: expected a regular expression")
        try:
            pl.Series([""]).str.contains(pattern)
        except Exception as exc:  # polars raises ComputeError for a bad pattern
            raise LexiconError(f"{f}: spam_features.{key}: invalid regular expression ({exc})") from None
    repeated_min = int(
        _number(f, "spam_features.repeated_character_min", features["repeated_character_min"], 2, 1000)
    )
    flood_min = int(_number(f, "spam_features.symbol_flood_min", features["symbol_flood_min"], 2, 1000))

    # modifiers.yaml
    f = "modifiers.yaml"
    mods = _keys(
        f, "top level", data["modifiers"],
        {"version", "window_before", "window_after", "negators", "not_negators", "contrast"},
        {"window_before", "window_after", "negators"},
    )
    window_before = int(_number(f, "window_before", mods["window_before"], 0, 10))
    window_after = int(_number(f, "window_after", mods["window_after"], 0, 10))
    negators = _keys(f, "negators", mods["negators"], set(LANGUAGE_KEYS))
    for lang, spec in negators.items():
        spec = _keys(f, f"negators.{lang}", spec, {"before", "after"})
        for side, terms in spec.items():
            raws_comment += [
                _Raw("negator", side, lang, t, f"{f}: negators.{lang}.{side}")
                for t in _term_list(f, f"negators.{lang}.{side}", terms)
            ]
    for lang, terms in _by_language(f, "not_negators", mods.get("not_negators") or {}).items():
        raws_comment += [
            _Raw("not_negator", "not_negator", lang, t, f"{f}: not_negators.{lang}") for t in terms
        ]
    for lang, terms in _by_language(f, "contrast", mods.get("contrast") or {}).items():
        raws_comment += [_Raw("contrast", "contrast", lang, t, f"{f}: contrast.{lang}") for t in terms]

    # sentiment.yaml (+ VADER for English)
    f = "sentiment.yaml"
    sent = _keys(f, "top level", data["sentiment"], {"version", "scoring", "words", "overrides"},
                 {"scoring", "words"})
    scoring_keys = {"alpha", "positive_threshold", "negative_threshold", "negation_scalar", "contrast_before",
                    "contrast_after", "travel_intent"}
    scoring_raw = _keys(f, "scoring", sent["scoring"], scoring_keys, scoring_keys)
    scoring = {k: _number(f, f"scoring.{k}", v, -100, 100) for k, v in scoring_raw.items()}
    if not scoring["negative_threshold"] < scoring["positive_threshold"]:
        raise LexiconError(f"{f}: scoring: negative_threshold must be below positive_threshold")
    if scoring["alpha"] <= 0:
        raise LexiconError(f"{f}: scoring.alpha: must be above 0")
    words = _keys(f, "words", sent["words"], set(LANGUAGE_KEYS))
    sentiment_raws: list[_Raw] = []
    for lang, mapping in words.items():
        mapping = mapping or {}
        if not isinstance(mapping, dict):
            raise LexiconError(f"{f}: words.{lang}: expected a mapping of term: valence")
        for term, value in mapping.items():
            where = f"{f}: words.{lang}"
            if not isinstance(term, str):
                raise LexiconError(f"{where}: term {term!r} must be text (quote it)")
            weight = _number(f, f"words.{lang}.{term}", value, -4, 4)
            sentiment_raws.append(_Raw("sentiment", "valence", lang, term, where, weight))
    for lang, mapping in _keys(f, "overrides", sent.get("overrides") or {}, set(LANGUAGE_KEYS)).items():
        if not isinstance(mapping or {}, dict):
            raise LexiconError(f"{f}: overrides.{lang}: expected a mapping of term: positive|neutral|negative")
        for term, value in (mapping or {}).items():
            where = f"{f}: overrides.{lang}"
            if not isinstance(term, str):
                raise LexiconError(f"{where}: term {term!r} must be text (quote it)")
            if value not in _OVERRIDE_SCORE:
                raise LexiconError(f"{where}.{term}: {value!r} is not one of positive, neutral, negative")
            raws_comment.append(_Raw("sentiment_override", value, lang, term, where))
    overridden = {r.term.strip().casefold() for r in sentiment_raws if r.lang == "en"}
    vader, vader_hash = sentiment_mod.load_vader_lexicon()
    vader_raws = [
        _Raw("sentiment", "valence", "en", word, "vader_lexicon.txt", value)
        for word, value in vader.items()
        if word.casefold() not in overridden and re.fullmatch(r"[a-z][a-z'-]*", word)
    ]
    compiled_vader = _compile_lenient(vader_raws, normalizer)
    sentiment_entries = pl.concat([_compile(sentiment_raws, normalizer), compiled_vader])
    sentiment_entries = sentiment_entries.filter(pl.col("weight") != 0).unique(
        subset=["lang", "pattern"], keep="first", maintain_order=True
    )
    rated = frozenset(set(words) - {"any"}) | {"en"}

    post_entries = _compile(raws_post, normalizer)
    comment_entries = pl.concat([_compile(raws_comment, normalizer), sentiment_entries])

    versions = {name: data[name]["version"] for name in LEXICON_FILES}
    digest = hasher.hexdigest()[:8]
    version = ",".join(f"{name}@{versions[name]}" for name in LEXICON_FILES)
    version += f",vader@{sentiment_mod.vader_version()}#{vader_hash}+{digest}"
    return Lexicons(
        folder=folder,
        versions=versions,
        version=version,
        normalizer=normalizer,
        post_entries=post_entries,
        comment_entries=comment_entries,
        place_elements=place_elements,
        rated_languages=rated,
        scoring=scoring,
        window_before=window_before,
        window_after=window_after,
        spam_link=features["link"],
        spam_phone=features["phone"],
        repeated_character_min=repeated_min,
        symbol_flood_min=flood_min,
        raw=data,
    )


def classifier_version(lexicons: Lexicons, models: CommentModels | None = None) -> str:
    """Everything besides a comment's text and language tag that its classification depends on.

    The lexicons' version (each file's version and a digest of them all, VADER's), a digest of the
    trained models (default: the shipped ones), the versions of lingua, Polars (its regular expressions
    do the matching) and scikit-learn (it builds the models' features), and a digest of this module,
    ``language``, ``sentiment`` and ``textmodel``. The flow keeps classification outcomes under this
    string, so editing a lexicon, retraining a model, upgrading a library or changing the code gets
    every text classified afresh.
    """
    models = load_comment_models() if models is None else models
    code = hashlib.sha256()
    for module in (Path(__file__), Path(language_mod.__file__), Path(sentiment_mod.__file__),
                   Path(textmodel.__file__)):
        code.update(module.read_bytes())
    libraries = (f"lingua@{language_mod.lingua_version()},polars@{pl.__version__},"
                 f"scikit-learn@{metadata.version('scikit-learn')}")
    return f"{lexicons.version},{models.version},{libraries},code#{code.hexdigest()[:8]}"


def _compile_lenient(raws: list[_Raw], normalizer: _Normalizer) -> pl.DataFrame:
    """Compile VADER's words, skipping the few that normalise to nothing (emoticons made of punctuation)."""
    cores = normalizer.series(pl.Series([r.term for r in raws], dtype=pl.String)).str.strip_chars(" ")
    keep = [
        r for r, c in zip(raws, cores.to_list())
        if re.search(r"[^\W_]", c or "") and not re.search(r"[?,#]", c)
    ]
    return _compile(keep, normalizer)


# ----------------------------------------------------------------------------------------------
# Matching
# ----------------------------------------------------------------------------------------------


def _find(norm: pl.Series, entries: pl.DataFrame) -> pl.DataFrame:
    """All lexicon hits: row, family, cls, lang, term, weight, start, end (byte offsets of the term)."""
    patterns = entries["pattern"].unique().sort().to_list()
    frame = pl.DataFrame({"t": norm}).with_row_index("row")
    if not patterns:
        return pl.DataFrame(schema={"row": pl.UInt32, **_ENTRY_SCHEMA, "start": pl.Int64, "end": pl.Int64})
    found = frame.select(
        "row",
        pat=pl.col("t").str.extract_many(patterns, overlapping=True),
        pos=pl.col("t").str.find_many(patterns, overlapping=True),
    ).filter(pl.col("pat").list.len() > 0)
    if found.select((pl.col("pat").list.len() != pl.col("pos").list.len()).any()).item():
        raise RuntimeError("pattern and position lists disagree")  # pragma: no cover - polars invariant
    found = found.explode(["pat", "pos"])
    hits = found.join(entries, left_on="pat", right_on="pattern")
    return hits.with_columns(
        start=(pl.col("pos") + pl.col("lead")).cast(pl.Int64),
    ).with_columns(end=pl.col("start") + pl.col("core_len").cast(pl.Int64)).drop("pat", "pos")


def _allowed(hits: pl.DataFrame) -> pl.DataFrame:
    """Keep hits whose language may fire in the text's language (column ``text_lang``)."""
    scope = pl.col("family").replace_strict(_SCOPE, default="lang_en")
    same = (pl.col("lang") == pl.col("text_lang")) | (pl.col("lang") == "any")
    unknown = pl.col("text_lang") == "und"
    keep = (
        pl.when(scope == "all").then(True)
        .when(scope == "lang").then(same)
        .otherwise(same | (pl.col("lang") == "en") | unknown)
    )
    return hits.filter(keep)


def _dedupe_and_suppress(hits: pl.DataFrame) -> pl.DataFrame:
    """One hit per span and class (preferring the text's language), then drop hits inside longer ones.

    Terms written differently but normalised alike ("rip off", "rip-off") hit the same span; the rule
    names the first in alphabetical order, so a text's rules never depend on the rows classified with it.
    """
    pref = (
        pl.when(pl.col("lang") == pl.col("text_lang")).then(0)
        .when(pl.col("lang") == "en").then(1)
        .when(pl.col("lang") == "any").then(2)
        .otherwise(3)
    )
    hits = (
        hits.with_columns(_pref=pref)
        .sort(["row", "family", "cls", "start", "end", "_pref", "lang", "term"])
        .unique(subset=["row", "family", "cls", "start", "end"], keep="first", maintain_order=True)
        .drop("_pref")
        .with_row_index("hid")
    )
    group = pl.when(pl.col("family").is_in(list(_CROSS_CLASS))).then(pl.col("family")).otherwise(
        pl.col("family") + "." + pl.col("cls")
    )
    hits = hits.with_columns(group=group)
    # Sorted by start, longest first, each span sees the furthest end of the spans before it: a span
    # ending no further is inside a longer one; in the cross-class families a span starting before that
    # end overlaps an earlier phrase, and the phrase that starts first wins ("not worth" / "worth the").
    spans = (
        hits.filter(pl.col("cls") != "_ignore")
        .select("row", "family", "group", "start", "end")
        .unique()
        .sort(["row", "group", "start", "end"], descending=[False, False, False, True])
        .with_columns(prev_end=pl.col("end").cum_max().shift(1).over(["row", "group"]))
    )
    cross = pl.col("family").is_in(list(_CROSS_CLASS))
    beaten = spans.filter(
        pl.col("prev_end").is_not_null()
        & ((pl.col("prev_end") >= pl.col("end")) | (cross & (pl.col("prev_end") > pl.col("start"))))
    ).select("row", "group", "start", "end")
    hits = hits.join(beaten, on=["row", "group", "start", "end"], how="anti")
    # `ignore` phrases hide every term of their lexicon inside them.
    ignore = hits.filter(pl.col("cls") == "_ignore").select(
        "row", "family", i_start=pl.col("start"), i_end=pl.col("end")
    )
    if ignore.height:
        hidden = (
            hits.filter(pl.col("cls") != "_ignore")
            .select("hid", "row", "family", "start", "end")
            .join(ignore, on=["row", "family"])
            .filter((pl.col("i_start") <= pl.col("start")) & (pl.col("i_end") >= pl.col("end")))
            .select("hid")
            .unique()
        )
        hits = hits.join(hidden, on="hid", how="anti")
    return hits.filter(pl.col("cls") != "_ignore").drop("group")


def _rule(prefix: pl.Expr) -> pl.Expr:
    """``prefix:"term"@lang``."""
    return pl.format('{}:"{}"@{}', prefix, pl.col("term"), pl.col("lang"))


def _empty_lists(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns([pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.String))) for c in columns])


def _language_rule(hint: pl.Series, lang: pl.Expr, fallback: pl.Expr | None = None) -> pl.Expr:
    hinted = pl.when(pl.lit(hint).is_not_null()).then(pl.lit("hint"))
    chain = hinted.when(fallback).then(pl.lit("lexicon")) if fallback is not None else hinted
    source = chain.when(lang == "und").then(pl.lit("none")).otherwise(pl.lit("lingua"))
    return pl.format("language:{}={}", source, lang)


# ----------------------------------------------------------------------------------------------
# Posts
# ----------------------------------------------------------------------------------------------


def _in_chunks(frame: pl.DataFrame, classify, *args, rows: int = CLASSIFY_CHUNK_ROWS) -> pl.DataFrame:
    """``classify`` over ``rows`` rows at a time (``CITYIMAGE_CLASSIFY_CHUNK_ROWS``): each row is
    classified on its own, so the outcome is the same, and memory is bounded."""
    if frame.height <= rows:
        return classify(frame, *args)
    return pl.concat([classify(frame.slice(i, rows), *args) for i in range(0, frame.height, rows)])


def classify_posts(posts: pl.DataFrame, lexicons: Lexicons, city_terms: list[str],
                   chunk_rows: int = CLASSIFY_CHUNK_ROWS) -> pl.DataFrame:
    """Themes, city labels, places and Lynch elements of each post, with the rules that fired.

    Input: post_id, platform, title (may be null), text (may be null), language_raw (may be null).
    Output, one row per input row in the same order: post_id, platform, language, themes, labels,
    places, lynch_elements (sorted lists of keys; no theme means "other"), is_city_mention, rules.
    """
    _require(posts, ["post_id", "platform", "title", "text", "language_raw"], "posts")
    return _in_chunks(posts, _classify_posts, lexicons, list(city_terms), rows=chunk_rows)


def _classify_posts(posts: pl.DataFrame, lexicons: Lexicons, city_terms: list[str]) -> pl.DataFrame:
    n = posts.height
    body = posts.select(
        pl.concat_str(
            [pl.col("title").cast(pl.String), pl.col("text").cast(pl.String)],
            separator="\n",
            ignore_nulls=True,
        )
        .fill_null("")
        .alias("body")
    ).to_series()
    hints = posts["language_raw"].cast(pl.String)
    lang = language_mod.detect_languages(body, hints)
    entries = pl.concat([lexicons.post_entries, lexicons.compile_terms("city", "city", list(city_terms))])
    norm = lexicons.normalize(body)
    base = pl.DataFrame({"text_lang": lang}).with_row_index("row")

    hits = _find(norm, entries).join(base, on="row")
    hits = _dedupe_and_suppress(_allowed(hits))
    is_city = pl.col("family") == "city"
    hits = hits.with_columns(
        rule=pl.when(is_city).then(pl.format('city:"{}"', pl.col("term"))).otherwise(
            _rule(pl.col("family") + "." + pl.col("cls"))
        )
    )
    per_row = hits.group_by("row").agg(
        themes=pl.col("cls").filter(pl.col("family") == "theme").unique().sort(),
        labels=pl.col("cls").filter(pl.col("family") == "label").unique().sort(),
        places=pl.col("cls").filter(pl.col("family") == "place").unique().sort(),
        is_city_mention=pl.col("family").is_in(["city", "place"]).any(),
        hit_rules=pl.col("rule").unique().sort(),
    )
    lynch = (
        hits.filter(pl.col("family") == "place")
        .select("row", "cls")
        .join(lexicons.place_elements, on="cls")
        .group_by("row")
        .agg(lynch_elements=pl.col("element").unique().sort())
    )
    out = (
        base.join(per_row, on="row", how="left")
        .join(lynch, on="row", how="left")
        .sort("row")
    )
    out = _empty_lists(out, ["themes", "labels", "places", "lynch_elements", "hit_rules"])
    language_rule = _language_rule(language_mod.normalize_hints(hints), pl.col("text_lang"))
    out = out.with_columns(
        is_city_mention=pl.col("is_city_mention").fill_null(False),
        rules=pl.concat_list([pl.concat_list([language_rule]), pl.col("hit_rules")]),
    )
    assert out.height == n
    return pl.DataFrame(
        {
            "post_id": posts["post_id"],
            "platform": posts["platform"],
            "language": out["text_lang"],
            "themes": out["themes"],
            "labels": out["labels"],
            "places": out["places"],
            "lynch_elements": out["lynch_elements"],
            "is_city_mention": out["is_city_mention"],
            "rules": out["rules"],
        }
    )


# ----------------------------------------------------------------------------------------------
# Comments
# ----------------------------------------------------------------------------------------------

_NEGATABLE_ACTS = ("praise", "complaint", "travel_intent")
#: Lingua's answer on a text of at most this many words may be overridden by the lexicon evidence.
SHORT_TEXT_WORDS = 8
_WORD = r"[\p{Han}\p{Hiragana}\p{Katakana}]|[^\s\p{Han}\p{Hiragana}\p{Katakana}]+"
_FLIP = {"praise": "complaint", "complaint": "praise"}


def _negations(targets: pl.DataFrame, negators: pl.DataFrame, texts: pl.DataFrame,
               window_before: int, window_after: int) -> pl.DataFrame:
    """hid of each target a negator reaches, with the negator's term (the closest one)."""
    schema = {"hid": pl.UInt32, "negator": pl.String}
    if targets.is_empty() or negators.is_empty():
        return pl.DataFrame(schema=schema)
    pairs = targets.select("hid", "row", "start", "end").join(
        negators.select("row", pl.col("cls").alias("side"), pl.col("term").alias("n_term"),
                        pl.col("start").alias("n_start"), pl.col("end").alias("n_end")),
        on="row",
    )
    # Byte distances only pre-select the pairs; the window is counted in words below.
    before = pairs.filter(
        (pl.col("side") == "before")
        & (pl.col("n_end") <= pl.col("start"))
        & (pl.col("start") - pl.col("n_end") <= 96)
    ).with_columns(lo=pl.col("n_end"), hi=pl.col("start"), window=pl.lit(window_before))
    after = pairs.filter(
        (pl.col("side") == "after")
        & (pl.col("n_start") >= pl.col("end"))
        & (pl.col("n_start") - pl.col("end") <= 48)
    ).with_columns(lo=pl.col("end"), hi=pl.col("n_start"), window=pl.lit(window_after))
    cand = pl.concat([before, after]).join(texts, on="row")
    if cand.is_empty():
        return pl.DataFrame(schema=schema)
    gap = pl.col("tb").bin.slice(pl.col("lo"), pl.col("hi") - pl.col("lo")).cast(pl.String)
    cand = cand.with_columns(gap=gap).with_columns(
        blocked=pl.col("gap").str.contains(r"(^| )[.?,]( |$)"),
        units=pl.col("gap").str.count_matches(f"[{_CJK_CLASS}]|[^\\s{_CJK_CLASS}]+"),
    )
    reached = cand.filter(~pl.col("blocked") & (pl.col("units") <= pl.col("window")))
    return (
        reached.with_columns(dist=pl.col("hi") - pl.col("lo"))
        .sort(["hid", "dist", "n_start", "n_term"])  # equally close: the earlier negator, whatever the row order
        .group_by("hid", maintain_order=True)
        .agg(negator=pl.col("n_term").first())
    )


def _inside(inner: pl.DataFrame, outer: pl.DataFrame, strict: bool) -> pl.DataFrame:
    """hid of ``inner`` hits lying inside an ``outer`` hit of the same row (strictly longer if ``strict``)."""
    if inner.is_empty() or outer.is_empty():
        return pl.DataFrame(schema={"hid": pl.UInt32})
    pairs = inner.select("hid", "row", "start", "end").join(
        outer.select("row", o_hid="hid", o_start="start", o_end="end"),
        on="row",
    )
    cond = (
        (pl.col("o_start") <= pl.col("start"))
        & (pl.col("o_end") >= pl.col("end"))
        & (pl.col("o_hid") != pl.col("hid"))
    )
    if strict:
        cond = cond & ((pl.col("o_end") - pl.col("o_start")) > (pl.col("end") - pl.col("start")))
    return pairs.filter(cond).select("hid").unique()


def classify_comments(
    comments: pl.DataFrame, lexicons: Lexicons, keys: Sequence[str] = ("comment_id", "platform"),
    models: CommentModels | None = None, chunk_rows: int = CLASSIFY_CHUNK_ROWS,
) -> pl.DataFrame:
    """Acts, sentiment and language of each comment, with the rules that fired.

    Input: the ``keys`` columns (passed through: what identifies a row to the caller, such as the
    classification cache's ``input_sha256``), text, language_raw. Output, one row per input row in
    the same order: the keys, language, is_spam, is_question, is_praise, is_travel_intent,
    is_complaint, sentiment (positive / neutral / negative / not_rated), sentiment_score (compound
    -1..1, null when not rated), rules. Nothing but the text and the language tag decides the outcome,
    which is what lets the flow keep outcomes per distinct input between runs.

    Order of decisions: spam first (a spam comment has no other act and is not rated), then the acts,
    then sentiment. The lexicons come first and are the user's overrides: a spam rule of ``acts.yaml``
    makes a comment spam whatever the model says, a term of ``sentiment.yaml``'s ``overrides`` fixes
    its sentiment. Then the trained models (``models``, default the shipped ones): the spam model reads
    every comment; a sentiment model rates the comments of its language, with the lexicon's score among
    its features. A language with neither a model nor a sentiment lexicon is ``not_rated``, never
    guessed; a comment without any letters is rated on its emoji by the lexicon.
    """
    _require(comments, [*keys, "text", "language_raw"], "comments")
    models = load_comment_models() if models is None else models
    return _in_chunks(comments, _classify_comments, lexicons, tuple(keys), models, rows=chunk_rows)


def model_inputs(comments: pl.DataFrame, lexicons: Lexicons) -> pl.DataFrame:
    """What the lexicons tell the models about each comment (text, language_raw in; row-aligned out):
    text_lang, rule_spam, lexicon_score, positive_hit, negative_hit. Training reads the same features
    the classifier computes, so a model never sees at run time an input it was not trained on."""
    _require(comments, ["text", "language_raw"], "comments")
    return _in_chunks(comments.select("text", "language_raw"), _model_inputs, lexicons)


def spam_extra(texts: Sequence[str], rule_spam: np.ndarray) -> np.ndarray:
    """The spam model's numeric features (``textmodel.SPAM_EXTRA``)."""
    return np.column_stack([rule_spam.astype(float), textmodel.has_outside_link(texts).astype(float)])


def sentiment_extra(inputs: pl.DataFrame) -> np.ndarray:
    """The sentiment models' numeric features (``textmodel.SENTIMENT_EXTRA``) from :func:`model_inputs` columns."""
    return np.column_stack([
        inputs["lexicon_score"].to_numpy(),
        inputs["positive_hit"].fill_null(False).to_numpy().astype(float),
        inputs["negative_hit"].fill_null(False).to_numpy().astype(float),
    ])


def _model_inputs(comments: pl.DataFrame, lexicons: Lexicons) -> pl.DataFrame:
    out, _ = _lexicon_pass(comments, lexicons)
    return out.select("text_lang", "rule_spam", "lexicon_score",
                      pl.col("positive_hit").fill_null(False), pl.col("negative_hit").fill_null(False))


def _act_flags() -> dict[str, pl.Expr]:
    """Whether each act's lexicon fired, from the ``_<act>`` columns of :func:`_lexicon_pass`."""
    return {a: pl.col(f"_{a}").fill_null(False) for a in ACTS}


def _lexicon_pass(comments: pl.DataFrame, lexicons: Lexicons) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Everything the lexicons decide, one row per comment in order (``row``), and the hits behind it.

    Language (with the word-list fallback), act and spam rules, the lexicon's sentiment total and rules;
    the trained models and the final assembly come after, in :func:`_classify_comments`.
    """
    text = comments["text"].cast(pl.String)
    hints = comments["language_raw"].cast(pl.String)
    detected = language_mod.detect_languages(text, hints)
    norm = lexicons.normalize(text)
    raw = text.fill_null("")
    squeezed = raw.str.replace_all(r"[\s\x{FE00}-\x{FE0F}\x{200D}\x{1F3FB}-\x{1F3FF}]", "")
    base = pl.DataFrame(
        {"raw": raw, "detected": detected, "hint": language_mod.normalize_hints(hints)}
    ).with_row_index("row")
    base = base.with_columns(
        empty=pl.col("raw").str.strip_chars() == "",
        has_letters=pl.col("raw").str.contains(r"\p{L}"),
        link=pl.col("raw").str.contains(lexicons.spam_link),
        phone=pl.col("raw").str.contains(lexicons.spam_phone),
        squeezed=squeezed,
    ).with_columns(
        first=pl.col("squeezed").str.slice(0, 1),
        sq_len=pl.col("squeezed").str.len_chars(),
    ).with_columns(
        repeated=(pl.col("sq_len") >= lexicons.repeated_character_min)
        & (pl.col("squeezed").str.count_matches(pl.col("first"), literal=True) == pl.col("sq_len")),
        flood=~pl.col("raw").str.contains(r"[\p{L}\p{N}]")
        & (pl.col("raw").str.count_matches(r"\p{Extended_Pictographic}") >= lexicons.symbol_flood_min),
    ).drop("squeezed", "first", "sq_len")

    all_hits = _find(norm, lexicons.comment_entries)

    # Language: the hint, else lingua. Lingua is unreliable on a few words, so the lexicon words
    # themselves are evidence (function words included: "no", "nada", "but"): when lingua says `und`,
    # or names a covered language none of whose words occur in a short text ("Meh" read as German),
    # the covered language with the most matched words is used (a tie goes to English, else `und`).
    # Lingua's answer is never overridden to rate a language without lexicons (pt stays pt).
    rated_list = sorted(lexicons.rated_languages)
    evidence = (
        all_hits.filter(
            pl.col("family").is_in(["act", "sentiment", "negator", "contrast", "not_negator"])
            & pl.col("lang").is_in(rated_list)
        )
        .select("row", "lang", "start", "end")
        .unique()
        .group_by("row", "lang")
        .agg(k=pl.len())
    )
    top = evidence.group_by("row").agg(k_max=pl.col("k").max())
    best = (
        evidence.join(top, on="row")
        .filter(pl.col("k") == pl.col("k_max"))
        .group_by("row")
        .agg(n_best=pl.len(), has_en=(pl.col("lang") == "en").any(), first=pl.col("lang").first())
        .select(
            "row",
            fallback=pl.when(pl.col("n_best") == 1).then("first").when(pl.col("has_en")).then(pl.lit("en")),
        )
    )
    own = evidence.rename({"lang": "detected", "k": "own"})
    base = (
        base.join(best, on="row", how="left")
        .join(own, on=["row", "detected"], how="left")
        # Chinese and Japanese write no spaces: each of their characters counts as a word, so a long
        # sentence is never "short" (and lingua, reliable on it, is never overridden).
        .with_columns(words=pl.col("raw").str.count_matches(_WORD))
    )
    switch = pl.col("fallback").is_not_null() & (
        (pl.col("detected") == "und")
        | (
            pl.col("hint").is_null()
            & pl.col("detected").is_in(rated_list)
            & ~pl.col("detected").is_in(["zh", "ja", "ko"])
            & pl.col("own").is_null()
            & (pl.col("words") <= SHORT_TEXT_WORDS)
        )
    )
    base = base.with_columns(
        switched=switch, text_lang=pl.when(switch).then("fallback").otherwise("detected")
    )

    hits = all_hits.join(base.select("row", "text_lang"), on="row")
    hits = _dedupe_and_suppress(_allowed(hits))

    # Negation, per family: a negator that is part of a longer phrase of the same lexicon ("can't wait",
    # 不错) or of a not_negator ("not only") negates nothing in that lexicon.
    negators = hits.filter(pl.col("family") == "negator")
    texts_bin = pl.DataFrame({"tb": norm.cast(pl.Binary)}).with_row_index("row")
    negated_parts = []
    intent_phrase = (pl.col("family") == "act") & (pl.col("cls") == "travel_intent")
    for family, classes in (("act", _NEGATABLE_ACTS), ("sentiment", None)):
        # Travel-intent phrases are scored as one sentiment unit too: the "can't" of "can't wait"
        # negates no emoji after it.
        shield = pl.col("family").is_in([family, "not_negator"])
        if family == "sentiment":
            shield = shield | intent_phrase
        shields = hits.filter(shield)
        free = negators.join(_inside(negators, shields, strict=True), on="hid", how="anti")
        targets = hits.filter(pl.col("family") == family)
        if classes is not None:
            targets = targets.filter(pl.col("cls").is_in(classes))
        negated_parts.append(
            _negations(targets, free, texts_bin, lexicons.window_before, lexicons.window_after)
        )
    negated = pl.concat(negated_parts)
    hits = hits.join(negated, on="hid", how="left").with_columns(negated=pl.col("negator").is_not_null())
    neg_note = (
        pl.when(pl.col("negated")).then(pl.format('[negated:"{}"]', pl.col("negator"))).otherwise(pl.lit(""))
    )

    # Acts.
    acts = hits.filter(pl.col("family") == "act").with_columns(
        act=pl.when(pl.col("negated") & pl.col("cls").is_in(list(_FLIP)))
        .then(pl.col("cls").replace(_FLIP))
        .when(pl.col("negated") & (pl.col("cls") == "travel_intent"))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.col("cls"))
    ).filter(pl.col("act").is_not_null())
    acts = acts.with_columns(rule=pl.concat_str([_rule(pl.lit("act.") + pl.col("act")), neg_note]))
    per_act = acts.group_by("row").agg(
        [pl.col("act").eq(a).any().alias(f"_{a}") for a in ACTS]
        + [
            pl.col("rule").filter(~pl.col("act").str.starts_with("spam")).alias("act_rules"),
            pl.col("rule").filter(pl.col("act").str.starts_with("spam")).alias("spam_rules"),
        ]
    )

    # Sentiment: lexicon words, minus those inside a travel-intent phrase, plus the intent itself.
    intents = hits.filter((pl.col("family") == "act") & (pl.col("cls") == "travel_intent"))
    words = hits.filter(pl.col("family") == "sentiment")
    words = words.join(_inside(words, intents, strict=False), on="hid", how="anti")
    # Travel intent counts once per comment: the first affirmed phrase, else the first negated one.
    intent_once = intents.sort(["row", "negated", "start"]).group_by("row", maintain_order=True).first()
    scored_hits = pl.concat(
        [
            words.select("row", "start", "weight", "negated", "negator",
                         label=pl.format('"{}"@{}', pl.col("term"), pl.col("lang"))),
            intent_once.select(
                "row", "start",
                pl.lit(lexicons.scoring["travel_intent"]).alias("weight"),
                "negated", "negator",
                label=pl.format('travel_intent("{}"@{})', pl.col("term"), pl.col("lang")),
            ),
        ]
    )
    contrast = hits.filter(pl.col("family") == "contrast").select("row", "start", "term")
    scored = sentiment_mod.score(
        scored_hits,
        contrast,
        negation_scalar=lexicons.scoring["negation_scalar"],
        contrast_before=lexicons.scoring["contrast_before"],
        contrast_after=lexicons.scoring["contrast_after"],
    )

    scored = scored.rename({"rules": "sent_rules"})
    out = base.join(per_act, on="row", how="left").join(scored, on="row", how="left").sort("row")
    flags = _act_flags()
    spam = (
        flags["spam"]
        | (flags["spam_sales"] & (pl.col("link") | pl.col("phone") | flags["spam_contact"]))
        | (flags["spam_contact"] & (pl.col("link") | pl.col("phone")))
        | pl.col("repeated")
        | pl.col("flood")
    ) & ~pl.col("empty")
    out = out.with_columns(rule_spam=spam, lexicon_score=sentiment_mod.compound(
        pl.col("total").fill_null(0.0), lexicons.scoring["alpha"]))
    return _empty_lists(out, ["act_rules", "spam_rules", "sent_rules"]), hits


def _classify_comments(comments: pl.DataFrame, lexicons: Lexicons, keys: tuple[str, ...],
                       models: CommentModels) -> pl.DataFrame:
    out, hits = _lexicon_pass(comments, lexicons)
    out = _apply_models(out, _override_hits(hits), models)
    flags = _act_flags()
    lexicon_rated = ~pl.col("is_spam") & ~pl.col("empty") & (
        pl.col("text_lang").is_in(sorted(lexicons.rated_languages)) | ~pl.col("has_letters")
    )
    lab, comp = sentiment_mod.label(
        pl.col("total"),
        alpha=lexicons.scoring["alpha"],
        positive=lexicons.scoring["positive_threshold"],
        negative=lexicons.scoring["negative_threshold"],
    )
    not_rated_reason = (
        pl.when(pl.col("empty")).then(pl.lit("sentiment.not_rated:empty"))
        .when(pl.col("is_spam")).then(pl.lit("sentiment.not_rated:spam"))
        .otherwise(pl.format("sentiment.not_rated:language={}", pl.col("text_lang")))
    )
    none = pl.lit([], dtype=pl.List(pl.String))
    spam_feature_rules = pl.concat_list(
        [
            pl.when(pl.col(flag)).then(pl.lit([rule])).otherwise(none)
            for flag, rule in (("link", "act.spam_feature:link"), ("phone", "act.spam_feature:phone"),
                               ("repeated", "act.spam:repeated_character"), ("flood", "act.spam:emoji_flood"))
        ]
    )
    language_rule = _language_rule(out["hint"], pl.col("text_lang"), fallback=pl.col("switched"))
    by_override = pl.col("override_label").is_not_null()
    by_model = pl.col("model_label").is_not_null()
    spam_rules = pl.when(pl.col("rule_spam")).then(pl.concat_list(["spam_rules", spam_feature_rules])).otherwise(
        pl.concat_list([pl.col("model_spam_rule")])
    )
    sentiment_rules = (
        pl.when(by_override).then(pl.concat_list([pl.col("override_rule")]))
        .when(by_model).then(pl.concat_list([pl.concat_list([pl.col("model_rule")]), "sent_rules"]))
        .when(lexicon_rated).then(pl.col("sent_rules"))
        .otherwise(pl.concat_list([not_rated_reason]))
    )
    rated = ~pl.col("is_spam") & ~pl.col("empty") & (by_override | by_model | lexicon_rated)
    rules = pl.concat_list(
        [
            pl.concat_list([language_rule]),
            pl.when(pl.col("is_spam")).then(spam_rules).otherwise(pl.col("act_rules")),
            pl.when(rated).then(sentiment_rules).otherwise(pl.concat_list([not_rated_reason])),
        ]
    )
    out = out.with_columns(
        sentiment=pl.when(~rated).then(pl.lit("not_rated")).when(by_override).then("override_label")
        .when(by_model).then("model_label").otherwise(lab),
        sentiment_score=pl.when(~rated).then(pl.lit(None, dtype=pl.Float64))
        .when(by_override).then(pl.col("override_label").replace_strict(_OVERRIDE_SCORE, return_dtype=pl.Float64))
        .when(by_model).then("model_score").otherwise(comp),
        is_question=flags["question"] & ~pl.col("is_spam"),
        is_praise=flags["praise"] & ~pl.col("is_spam"),
        is_travel_intent=flags["travel_intent"] & ~pl.col("is_spam"),
        is_complaint=flags["complaint"] & ~pl.col("is_spam"),
        all_rules=rules.list.unique(maintain_order=True),
    )
    assert out.height == comments.height
    return pl.DataFrame(
        {
            **{key: comments[key] for key in keys},
            "language": out["text_lang"],
            "is_spam": out["is_spam"],
            "is_question": out["is_question"],
            "is_praise": out["is_praise"],
            "is_travel_intent": out["is_travel_intent"],
            "is_complaint": out["is_complaint"],
            "sentiment": out["sentiment"],
            "sentiment_score": out["sentiment_score"],
            "rules": out["all_rules"],
        }
    )


#: The score an override gives: the middle of its band on the compound scale.
_OVERRIDE_SCORE = {"positive": 0.5, "neutral": 0.0, "negative": -0.5}


def _override_hits(hits: pl.DataFrame) -> pl.DataFrame:
    """Per row, the first sentiment override term it contains (row, override_label, override_rule)."""
    found = hits.filter(pl.col("family") == "sentiment_override").sort(["row", "start"])
    return found.group_by("row", maintain_order=True).first().select(
        "row", override_label=pl.col("cls"),
        override_rule=pl.format('sentiment.override:"{}"@{}={}', pl.col("term"), pl.col("lang"), pl.col("cls")),
    )


def _apply_models(out: pl.DataFrame, override: pl.DataFrame, models: CommentModels) -> pl.DataFrame:
    """Spam and sentiment by the trained models, after the lexicon rules (which win where they fire).

    Adds is_spam, model_spam_rule, model_label, model_score, model_rule, override_label, override_rule.
    """
    out = out.join(override, on="row", how="left")
    texts = out["raw"].to_list()
    n = len(texts)
    rule_spam = out["rule_spam"].to_numpy()
    model_spam = np.zeros(n, dtype=bool)
    spam_rule: list[str | None] = [None] * n
    if models.spam is not None and n:
        spam_model = models.spam
        x = spam_model.features(texts, spam_extra(texts, rule_spam))
        p = spam_model.proba(x)[:, 1]
        model_spam = (p >= spam_model.meta["threshold"]) & ~out["empty"].to_numpy()
        explain = np.flatnonzero(model_spam & ~rule_spam)
        tops = spam_model.top_features(x[explain], np.ones(len(explain), dtype=np.int64))
        for i, top in zip(explain, tops):
            spam_rule[i] = f"act.spam:model={p[i]:.2f}[{', '.join(top)}]"
    out = out.with_columns(
        is_spam=pl.Series(rule_spam | model_spam), model_spam_rule=pl.Series(spam_rule, dtype=pl.String)
    )
    label: list[str | None] = [None] * n
    score = np.full(n, np.nan)
    model_rule: list[str | None] = [None] * n
    eligible = (
        ~pl.col("is_spam") & ~pl.col("empty") & pl.col("has_letters") & pl.col("override_label").is_null()
    )
    lang = out["text_lang"].to_numpy()
    todo = out.select(eligible.alias("ok"))["ok"].to_numpy()
    for language, model in models.sentiment.items():
        rows = np.flatnonzero(todo & (lang == language))
        if not len(rows):
            continue
        x = model.features([texts[i] for i in rows], sentiment_extra(out[rows]))
        p = model.proba(x)
        best = p.argmax(axis=1)
        tops = model.top_features(x, best)
        pos, neg = model.classes.index("positive"), model.classes.index("negative")
        for j, i in enumerate(rows):
            label[i] = model.classes[best[j]]
            score[i] = p[j, pos] - p[j, neg]
            model_rule[i] = f"sentiment.model@{language}:{label[i]}={p[j, best[j]]:.2f}[{', '.join(tops[j])}]"
    return out.with_columns(
        model_label=pl.Series(label, dtype=pl.String),
        model_score=pl.Series(score, dtype=pl.Float64).fill_nan(None),
        model_rule=pl.Series(model_rule, dtype=pl.String),
    )


def _require(frame: pl.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")
