"""Instagram readers: Business Suite content export in four UI languages, Graph API media and comments.

Expected values for the reference exports were read off the files themselves (csv module / json),
not from the readers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from readers import instagram, registry
from readers.base import ReadError, SourceFile
from tests.readers.helpers import counts, load, row, utc

ROOT = Path(__file__).resolve().parents[2]
EXPORT = "Jan-01-2026_Jan-31-2026_17841401745690123.csv"


# ---------------------------------------------------------------------------------------------
# Reference exports


@pytest.mark.real_exports
def test_business_suite_spanish_export(real_exports: Path) -> None:
    result = load(real_exports / "instagram/business_suite/Mar-26-2025_Mar-26-2026_949104527769166.csv")
    assert result.format == "instagram_business_suite_posts"
    assert counts(result) == (53, 53, 0, 0)
    posts = result.tables["post"]
    assert dict(posts["format"].value_counts().iter_rows()) == {"carousel": 41, "image": 11, "short_video": 1}
    handles = dict(posts["account_handle"].value_counts().iter_rows())
    assert handles == {"revista_kairos": 52, "juridicasypoliticas_ueb": 1}
    reel = row(result, "post", "post_id", "18001232057910536")
    assert reel["post_type_raw"] == "Reel de Instagram"
    assert reel["published_at"] == utc(2026, 3, 21, 1, 21)  # 03/20/2026 18:21 Pacific daylight time
    assert (reel["views"], reel["reach"], reel["likes"], reel["shares"]) == (2232, 1271, 62, 28)
    assert (reel["new_followers"], reel["comments"], reel["saves"], reel["duration_s"]) == (1, 5, 5, None)
    assert row(result, "post", "post_id", "18088830839174880")["new_followers"] is None  # blank Seguimientos
    first = row(result, "post", "post_id", "18148559188481340")
    assert first["text"].count("\n") == 8 and first["account_id"] == "17841468818390769"
    assert result.exported_at == utc(2026, 3, 27)  # window Mar-26-2025 … Mar-26-2026 in the name


@pytest.mark.real_exports
def test_graph_api_media(real_exports: Path) -> None:
    result = load(real_exports / "instagram/graph_api/medias_p1.json")
    assert result.format == "instagram_api_media"
    assert counts(result) == (2, 2, 0, 0)
    media = row(result, "post", "post_id", "17896622936197745")
    assert (media["likes"], media["comments"], media["format"]) == (2, 6, "image")
    assert (media["published_at"], media["account_id"]) == (utc(2021, 8, 13, 8, 2, 40), "17841406338772941")
    assert media["post_url"] == "https://www.instagram.com/p/CSgdWACBeKr/"


@pytest.mark.real_exports
def test_graph_api_comments_media_id_from_paging(real_exports: Path) -> None:
    result = load(real_exports / "instagram/graph_api/comments_p1.json")
    assert result.format == "instagram_api_comments"
    assert counts(result) == (2, 2, 0, 0)
    comment = row(result, "comment", "comment_id", "17858154961981086")
    assert (comment["post_id"], comment["text"], comment["created_at"]) == (
        "17846368219941692", "Beautiful!", utc(2020, 6, 1, 10, 56, 52)
    )


# ---------------------------------------------------------------------------------------------
# Fixtures: Business Suite in English, Spanish, Portuguese and French


def test_english_export_lifetime_blank_reach_and_a_bad_value(fixtures: Path) -> None:
    path = fixtures / "instagram" / EXPORT
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = load(path)
    assert result.format == "instagram_business_suite_posts"
    assert counts(result) == (4, 3, 1, 0)
    assert (result.rejects[0].column, result.rejects[0].value) == ("likes", "12a")
    carousel = row(result, "post", "post_id", "18100000000000001")
    assert (carousel["format"], carousel["text"], carousel["saves"]) == (
        "carousel", "Ten views of the city:\nswipe →", 33
    )
    assert carousel["published_at"] == utc(2026, 1, 31, 4, 15)  # 01/30/2026 20:15 Pacific
    reel = row(result, "post", "post_id", "18100000000000002")
    assert (reel["format"], reel["duration_s"], reel["reach"], reel["new_followers"]) == ("short_video", 31.0, 9100, 22)
    image = row(result, "post", "post_id", "18100000000000003")
    assert (image["format"], image["reach"], image["new_followers"]) == ("image", None, 0)


@pytest.mark.parametrize(
    ("language", "post_id", "expected"),
    [
        ("es", "18200000000000002",
         {"format": "short_video", "views": 9000, "reach": 5000, "likes": 300, "new_followers": None, "saves": 30}),
        ("pt", "18300000000000001",
         {"format": "carousel", "views": 2000, "reach": 1200, "likes": 90, "new_followers": 2, "saves": 12}),
        ("fr", "18400000000000001", {"format": "image", "views": 700, "likes": 40, "new_followers": 0, "saves": 3}),
    ],
)
def test_localized_exports_map_to_the_same_columns(fixtures: Path, language: str, post_id: str, expected: dict) -> None:
    result = load(fixtures / "instagram" / language / EXPORT)
    assert result.format == "instagram_business_suite_posts"
    assert result.rows_loaded == result.rows_read and not result.rejects
    post = row(result, "post", "post_id", post_id)
    assert {k: post[k] for k in expected} == expected
    assert (post["account_handle"], post["account_id"], post["platform"]) == (
        "ichongqing", "17841401745690123", "instagram"
    )


def test_spanish_fixture_reads_both_rows(fixtures: Path) -> None:
    result = load(fixtures / "instagram/es" / EXPORT)
    assert counts(result) == (2, 2, 0, 0)
    image = row(result, "post", "post_id", "18200000000000001")
    assert (image["format"], image["published_at"]) == ("image", utc(2026, 1, 13, 3, 30))


def test_facebook_and_instagram_suite_exports_are_not_confused(fixtures: Path) -> None:
    assert load(fixtures / "facebook/Jan-01-2026_Jan-31-2026_1002003004.csv").format == "facebook_business_suite_posts"
    assert load(fixtures / "instagram" / EXPORT).format == "instagram_business_suite_posts"


# ---------------------------------------------------------------------------------------------
# Fixtures: Graph API


def test_graph_media_types(fixtures: Path) -> None:
    result = load(fixtures / "instagram/graph/media_p1.json")
    assert counts(result) == (3, 3, 0, 0)
    formats = dict(result.tables["post"].select("post_id", "format").iter_rows())
    assert formats == {
        "18000000000000011": "short_video", "18000000000000012": "carousel", "18000000000000013": "video"
    }
    reel = row(result, "post", "post_id", "18000000000000011")
    assert (reel["account_id"], reel["account_handle"], reel["post_type_raw"]) == (
        "17841401745690123", "ichongqing", "VIDEO (REELS)"
    )
    assert row(result, "post", "post_id", "18000000000000012")["account_id"] == "17841401745690123"  # from paging


def test_graph_comments_nested_replies_media_from_file_name(fixtures: Path) -> None:
    result = load(fixtures / "instagram/graph/18000000000000011_comments.json")
    assert result.format == "instagram_api_comments"
    assert counts(result) == (3, 3, 0, 0)
    assert result.tables["comment"]["post_id"].unique().to_list() == ["18000000000000011"]
    reply = row(result, "comment", "comment_id", "17900000000000002")
    assert (reply["parent_comment_id"], reply["author_id"], reply["author_name"]) == (
        "17900000000000001", "17841401745690123", "ichongqing"
    )
    assert row(result, "comment", "comment_id", "17900000000000003")["is_hidden"] is True
    assert row(result, "comment", "comment_id", "17900000000000001")["parent_comment_id"] is None


def test_graph_comments_without_media_are_refused(fixtures: Path) -> None:
    with pytest.raises(ReadError, match="cannot tell which Instagram media"):
        load(fixtures / "instagram/graph/comments_unknown_media.json")


def test_graph_empty_last_page_is_instagram_by_its_fields() -> None:
    page = (b'{"data": [], "paging": {"cursors": {"before": "a", "after": "b"}, "next": '
            b'"https://graph.facebook.com/v21.0/18000000000000011/comments?fields=id%2Ctext%2Ctimestamp&after=b"}}')
    result = registry.read(SourceFile(name="comments_18000000000000011_p2.json", data=page))
    assert (result.format, counts(result)) == ("instagram_api_comments", (0, 0, 0, 0))


def test_format_table_documents_every_instagram_format() -> None:
    doc = (ROOT / "docs/formats/facebook_instagram_youtube.md").read_text(encoding="utf-8")
    for fmt in instagram.FORMATS:
        assert f"## `{fmt.name}`" in doc
        for column, headers, kind in fmt.documented_columns():
            assert f"| `{column}` | {headers} | {kind} |" in doc, (fmt.name, column)
