"""Archive expansion: a normal download expands; unsafe archives are refused whole, naming the member."""

from __future__ import annotations

import io
import stat
import zipfile
from datetime import date

import pytest

from readers.archive import expand_archive, is_archive
from readers.base import ReadError, SourceFile

LIMITS = {"max_total_bytes": 10_000_000, "max_ratio": 100}


def build_zip(members: dict[str | zipfile.ZipInfo, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def expand(data: bytes, name: str = "download.zip", **limits: int) -> list[SourceFile]:
    hints = {"account_hint": "cityimage.example", "date_hint": date(2026, 4, 2)}
    return expand_archive(SourceFile(name, data, **hints), **{**LIMITS, **limits})  # type: ignore[arg-type]


def test_normal_download_expands_with_hints_and_companions() -> None:
    data = build_zip({"Queries.csv": b"Top queries,Clicks\nx,1\n", "Filters.csv": b"Filter,Value\n", "sub/": b"", "sub/Chart.csv": b"Date\n"})
    assert is_archive(data)
    members = {m.name: m for m in expand(data)}
    assert sorted(members) == ["download.zip/Filters.csv", "download.zip/Queries.csv", "download.zip/sub/Chart.csv"]
    queries = members["download.zip/Queries.csv"]
    assert queries.data == b"Top queries,Clicks\nx,1\n"
    assert (queries.account_hint, queries.date_hint) == ("cityimage.example", date(2026, 4, 2))
    assert sorted(queries.companions) == ["Chart.csv", "Filters.csv"]
    assert queries.companions["Filters.csv"] == b"Filter,Value\n"


def test_is_archive_looks_at_the_bytes() -> None:
    assert not is_archive(b"Post id,Date\n")
    assert is_archive(build_zip({}))


@pytest.mark.parametrize("member", ["../evil.csv", "sub/../../evil.csv", "/etc/passwd", "C:/Users/evil.csv", "..\\evil.csv"])
def test_path_traversal_is_refused(member: str) -> None:
    with pytest.raises(ReadError, match=r"download\.zip.*member") as caught:
        expand(build_zip({"Queries.csv": b"a\n", member: b"x"}))
    assert repr(member) in str(caught.value)


def test_zip_bomb_ratio_is_refused() -> None:
    bomb = build_zip({"Queries.csv": b"0" * 5_000_000})
    assert len(bomb) < 50_000  # about 1000:1
    with pytest.raises(ReadError, match=r"'Queries.csv'.*expands more than 100 times"):
        expand(bomb)


def test_total_unpacked_size_is_bounded_while_reading() -> None:
    data = build_zip({"a.csv": b"a" * 600_000, "b.csv": b"b" * 600_000}, compression=zipfile.ZIP_STORED)
    with pytest.raises(ReadError, match=r"'b.csv'.*over the limit"):
        expand(data, max_total_bytes=1_000_000)


def test_header_sizes_are_not_trusted() -> None:
    """A central directory that understates the unpacked size does not let more bytes through."""
    data = bytearray(build_zip({"Queries.csv": b"0" * 2_000_000}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # uncompressed size: 10 bytes
    with pytest.raises(ReadError, match="'Queries.csv'"):
        expand(bytes(data), max_total_bytes=1_000, max_ratio=1_000_000)


def test_one_member_is_bounded_like_one_file_before_it_is_read() -> None:
    # zipfile never yields more than a member's declared size (a header that understates it fails its
    # CRC, see above), so the declared size bounds what is read.
    data = build_zip({"Queries.csv": b"0" * 2_000_000})
    with pytest.raises(ReadError, match=r"'Queries.csv' declares 2 MB, over the 1 MB limit for one file"):
        expand(data, max_total_bytes=10_000_000, max_ratio=1_000_000, max_member_bytes=1_000_000)
    assert len(expand(data, max_total_bytes=10_000_000, max_ratio=1_000_000, max_member_bytes=2_000_000)) == 1


def test_encrypted_member_is_refused() -> None:
    data = bytearray(build_zip({"Queries.csv": b"Top queries\n"}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the general-purpose flag, bit 0
        at = data.find(signature) + offset
        data[at] |= 0x01
    with pytest.raises(ReadError, match=r"'Queries.csv' is encrypted"):
        expand(bytes(data))


def test_nested_archive_is_refused_by_name_and_by_content() -> None:
    inner = build_zip({"Queries.csv": b"Top queries\n"})
    with pytest.raises(ReadError, match=r"'inner.zip' is itself an archive"):
        expand(build_zip({"inner.zip": inner}))
    with pytest.raises(ReadError, match=r"'Queries.csv' is itself an archive"):
        expand(build_zip({"Queries.csv": inner}))


def test_symlink_is_refused() -> None:
    link = zipfile.ZipInfo("Queries.csv")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(ReadError, match=r"'Queries.csv' is a symbolic link"):
        expand(build_zip({link: b"/etc/passwd"}))


def test_too_many_members_is_refused() -> None:
    data = build_zip({f"f{n}.csv": b"x\n" for n in range(5)})
    with pytest.raises(ReadError, match="5 members"):
        expand(data, max_members=4)


def test_not_a_zip_is_refused() -> None:
    with pytest.raises(ReadError, match="not a readable zip"):
        expand(b"PK\x03\x04 truncated")
