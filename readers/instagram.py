"""Instagram exports: the Meta Business Suite content export (any UI language) and Graph API responses
(media and comments).

The Business Suite export localizes its headers and post types with the UI language; each language's
headers are aliases of the same canonical columns (English, Spanish as in the reference export,
Portuguese and French). ``Publish time`` is local time read as ``America/Los_Angeles`` (see
``readers.facebook``).
"""

from __future__ import annotations

import re
from typing import Callable

import polars as pl

from readers.base import Col, ExportFormat, ReadError, SourceFile
from readers.facebook import MetaPostExport
from readers.graph_json import (
    Edge, Field, JsonFormat, Record, all_items, as_text, dig_entries, not_an_object, paging_fields,
)


class InstagramBusinessSuitePosts(MetaPostExport):
    """Meta Business Suite Instagram content export: one row per post, ``Date`` = Lifetime / Total."""

    name = "instagram_business_suite_posts"
    platform = "instagram"
    description = (
        "Meta Business Suite → Insights → Content → Export (Instagram posts, CSV, any UI language); "
        "Publish time read as Pacific time; blank = missing; Duration 0 = missing"
    )
    columns = (
        Col("post_id", ("Post ID", "Identificador de la publicación", "Identificação da publicação",
                        "ID da publicação", "Identifiant de la publication"), "id", required=True),
        Col("account_id", ("Account ID", "Identificador de la cuenta", "Identificação da conta", "ID da conta",
                           "Identifiant du compte", "ID du compte"), "id", required=True),
        Col("account_handle", ("Account username", "Nombre de usuario de la cuenta", "Nome de usuário da conta",
                               "Nom d’utilisateur du compte", "Nom d'utilisateur du compte"), "text", required=True),
        Col("account_name", ("Account name", "Nombre de la cuenta", "Nome da conta", "Nom du compte"), "text"),
        Col("text", ("Description", "Descripción", "Descrição"), "text"),
        Col("duration_s", ("Duration (sec)", "Duración (segundos)", "Duração (segundos)", "Durée (secondes)",
                           "Durée (s)"), "number"),
        Col("published_at", ("Publish time", "Hora de publicación", "Horário de publicação",
                              "Heure de publication"), "text", required=True),
        Col("post_url", ("Permalink", "Enlace permanente", "Link permanente", "Lien permanent"), "text", required=True),
        Col("post_type_raw", ("Post type", "Tipo de publicación", "Tipo de publicação", "Type de publication"),
            "text", required=True),
        Col("data_comment", ("Data comment", "Comentario sobre los datos", "Comentário sobre os dados",
                             "Commentaire sur les données"), "text"),
        Col("date_raw", ("Date", "Fecha", "Data"), "text"),
        Col("views", ("Views", "Visualizaciones", "Visualizações", "Vues"), "count"),
        Col("reach", ("Reach", "Alcance", "Couverture"), "count"),
        Col("likes", ("Likes", "Me gusta", "Curtidas", "J’aime", "J'aime"), "count"),
        Col("shares", ("Shares", "Veces que se compartió", "Compartilhamentos", "Partages"), "count"),
        Col("new_followers", ("Follows", "Seguimientos", "Seguimentos", "Seguidores", "Abonnements"), "count"),
        Col("comments", ("Comments", "Comentarios", "Comentários", "Commentaires"), "count"),
        Col("saves", ("Saves", "Veces que se guardó", "Salvamentos", "Enregistrements"), "count"),
        Col("impressions", ("Impressions", "Impresiones", "Impressões"), "count"),
    )
    forbidden = ("Page ID", "Page name", "Identificador de la página", "Nombre de la página")


# ---------------------------------------------------------------------------------------------
# Graph API

_MEDIA_FORMATS = {"IMAGE": "image", "CAROUSEL_ALBUM": "carousel", "VIDEO": "video"}
_MEDIA_ID_IN_NAME = re.compile(r"(?<!\d)(\d{15,20})(?!\d)")


def _is_media(item: dict) -> bool:
    return "timestamp" in item and ("media_type" in item or "media_product_type" in item)


def _is_comment(item: dict) -> bool:
    return "timestamp" in item and "text" in item and not _is_media(item)


def _pages_of(docs: list[object], is_item: Callable[[dict], bool], asked: set[str]) -> bool:
    """Every item is of the kind; an empty last page (the API links to one) is told by the fields it asked for."""
    items = all_items(docs)
    if not items:
        return bool(docs) and all(asked <= paging_fields(doc) for doc in docs)
    return all(is_item(item) for item in items)


class InstagramApiMedia(JsonFormat):
    """Graph API ``/{ig-user}/media`` pages: one row per media; REELS are short videos."""

    name = "instagram_api_media"
    platform = "instagram"
    grain = "one row per media per file"
    entities = ("post",)
    entity = "post"
    key = ("post_id",)
    description = "Instagram Graph API /{ig-user}/media response (JSON)"
    fields = (
        Field("post_id", "id", "id", required=True),
        Field("account_id", "owner.id", "id", note="else the paging URL (/{ig-user}/media)"),
        Field("account_handle", "username", "text"),
        Field("post_url", "permalink", "text"),
        Field("published_at", "timestamp", "instant", required=True),
        Field("text", "caption", "text"),
        Field("post_type_raw", "media_type", "text", note="then (media_product_type) when there is one"),
        Field("likes", "like_count", "count"),
        Field("comments", "comments_count", "count"),
    )

    def matches(self, docs: list[object]) -> bool:
        return _pages_of(docs, _is_media, {"media_type", "timestamp"})

    def derived(self, item: dict, row: Record, edge: Edge | None) -> Record:
        """The account from the paging URL when the media does not name its owner; the product type
        (REELS) beside the media type, and the format both give."""
        media_type, product = row["post_type_raw"], item.get("media_product_type")
        return {
            "account_id": row["account_id"] or (edge[0] if edge and edge[1] == "media" else None),
            "post_type_raw": f"{media_type} ({product})" if product else media_type,
            "format": "short_video" if product == "REELS" else _MEDIA_FORMATS.get(str(media_type)),
        }

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(platform=pl.lit("instagram"))


class InstagramApiComments(JsonFormat):
    """Graph API ``/{media}/comments`` pages; ``replies.data`` are replies.

    Comments do not name their media unless requested with ``fields=media``; the media id is then
    taken from the page's paging URL (``/v11.0/<media_id>/comments``), else from a media id in the
    file name (``<media_id>_comments.json``); with none of these the file is refused.
    """

    name = "instagram_api_comments"
    platform = "instagram"
    grain = "one row per comment or reply per file"
    entities = ("comment",)
    entity = "comment"
    key = ("comment_id",)
    description = "Instagram Graph API /{media}/comments response (JSON)"
    fields = (
        Field("comment_id", "id", "id", required=True),
        Field("post_id", "media.id", "id",
              note="else the paging URL (/{media}/comments), else a media id in the file name"),
        Field("parent_comment_id", "parent_id", "id",
              note="else the enclosing comment, or the paging URL (/{comment}/replies)"),
        Field("author_id", "from.id|user.id", "id"),
        Field("author_name", "username|from.username", "text"),
        Field("text", "text", "text"),
        Field("created_at", "timestamp", "instant", required=True),
        Field("like_count", "like_count", "count"),
        Field("is_hidden", "hidden", "bool"),
    )

    def matches(self, docs: list[object]) -> bool:
        return _pages_of(docs, _is_comment, {"text", "timestamp"})

    def records(self, docs: list[object], source: SourceFile) -> list[Record]:
        rows: list[Record] = []
        in_name = _media_in_name(source)
        for item, edge in self.items(docs):
            media = edge[0] if edge and edge[1] == "comments" else in_name
            parent = edge[0] if edge and edge[1] == "replies" else None
            self._walk(item, media, parent, rows, source)
        return rows

    def _walk(self, item: object, media: str | None, parent: str | None, rows: list[Record], source: SourceFile) -> None:
        """The comment, then its nested replies, in document order; ids as text where the media or the
        enclosing comment (``media``, ``parent``) stands in for them."""
        if not isinstance(item, dict):
            rows.append(not_an_object(item))
            return
        row = self.record(item)
        post_id = as_text(row["post_id"]) or media
        if post_id is None:
            raise ReadError(
                f"{source.name}: cannot tell which Instagram media these comments belong to: request them with "
                "fields=media{id}, keep the response's paging block, or name the file <media_id>_comments.json"
            )
        row |= {"post_id": row["post_id"] if as_text(row["post_id"]) else media,  # as sent: a number is quarantined
                "parent_comment_id": row["parent_comment_id"] if as_text(row["parent_comment_id"]) else parent}
        rows.append(row)
        for reply in dig_entries(item, "replies.data"):
            self._walk(reply, post_id, as_text(row["comment_id"]), rows, source)

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(platform=pl.lit("instagram"))


def _media_in_name(source: SourceFile) -> str | None:
    found = _MEDIA_ID_IN_NAME.search(source.stem)
    return found[1] if found else None


FORMATS: tuple[ExportFormat, ...] = (
    InstagramBusinessSuitePosts(),
    InstagramApiMedia(),
    InstagramApiComments(),
)
