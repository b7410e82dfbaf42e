"""Safe expansion of downloads that arrive as zip files (YouTube Studio, Search Console).

An archive is untrusted input: its member names may climb out of the folder (``../``, ``/etc``,
``C:``), its members may be encrypted, symbolic links or archives themselves, and its header sizes may
lie. Every member is therefore checked before it is read, and read in chunks while counting the bytes
that actually come out: the total and each member's expansion ratio are bounded by what was produced,
never by what the headers claim. Any violation refuses the whole archive, naming it and the member.

Members become ``SourceFile``s named ``<archive>/<member>`` with the archive's hints, and with every
other small member of the same download as a companion (Search Console's ``Filters.csv`` dates its
``Queries.csv``).
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from pathlib import PurePosixPath

from readers.base import ReadError, SourceFile

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# zip, gzip, 7z, rar, bzip2, xz, zstd
_ARCHIVE_MAGIC = (
    *_ZIP_MAGIC, b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"
)
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".zst")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 64 * 1024
COMPANION_MAX_BYTES = 1 << 20


def is_archive(data: bytes) -> bool:
    """A zip file (non-empty or empty) by its signature, whatever its name."""
    return data[:4] in _ZIP_MAGIC


def expand_archive(
    source: SourceFile, max_total_bytes: int, max_ratio: int, max_members: int = 1000,
    max_member_bytes: int | None = None,
) -> list[SourceFile]:
    """The archive's files as sources, or ReadError if any member is unsafe or the limits are exceeded.

    ``max_member_bytes``: the limit for one file, as for a file dropped on its own; a member whose
    header declares more is refused before it is read (zipfile yields no more than the declared size:
    a header that understates it fails the member's CRC)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source.data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReadError(f"{source.name}: not a readable zip archive ({exc}); download it again") from exc
    with archive:
        members = _checked_members(source, archive, max_members)
        contents: dict[str, bytes] = {}
        unpacked = 0
        for info in members:
            if max_member_bytes is not None and info.file_size > max_member_bytes:
                raise _refuse(source, info.filename, f"declares {size_text(info.file_size)}, over the "
                                                     f"{size_text(max_member_bytes)} limit for one file")
            contents[info.filename] = _read_member(source, archive, info, max_total_bytes - unpacked, max_ratio)
            unpacked += len(contents[info.filename])
    return [_member_source(source, name, contents) for name in contents]


def _refuse(source: SourceFile, member: str, why: str) -> ReadError:
    return ReadError(f"{source.name}: member {member!r} {why}; the archive was not expanded")


def _checked_members(source: SourceFile, archive: zipfile.ZipFile, max_members: int) -> list[zipfile.ZipInfo]:
    """Files to read, after refusing unsafe names, encryption, links, nested archives and duplicates.

    Folder entries and macOS resource forks (``__MACOSX/``) carry no export and are passed over.
    """
    infos = archive.infolist()
    if len(infos) > max_members:
        raise ReadError(f"{source.name}: holds {len(infos)} members, more than the {max_members} allowed; not expanded")
    seen: set[str] = set()
    members = []
    for info in infos:
        name = info.filename
        problem = _unsafe_name(name) or _unsafe_kind(info)
        if problem:
            raise _refuse(source, name, problem)
        if name in seen:
            raise _refuse(source, name, "appears twice")
        seen.add(name)
        if not info.is_dir() and not name.startswith("__MACOSX/"):
            members.append(info)
    return members


def _unsafe_name(name: str) -> str | None:
    """Why extracting a member under this name could write outside its folder, if it could."""
    path = name.replace("\\", "/")
    if "\x00" in path:
        return "has a NUL byte in its name"
    if path.startswith("/") or _DRIVE.match(path):
        return "has an absolute path"
    if ".." in path.split("/"):
        return "climbs out of the archive's folder ('..')"
    return None


def _unsafe_kind(info: zipfile.ZipInfo) -> str | None:
    """Encrypted members cannot be checked, links point anywhere, archives inside archives hide bombs."""
    if info.flag_bits & 0x1:
        return "is encrypted"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if info.filename.lower().endswith(_ARCHIVE_SUFFIXES):
        return "is itself an archive (nested archives are not expanded)"
    return None


def _read_member(
    source: SourceFile, archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, max_ratio: int
) -> bytes:
    """The member's bytes, read in chunks; stops as soon as the output breaks the budget or the ratio.

    The ratio's denominator is the compressed size bounded by the archive's real length, so a header
    that overstates it cannot buy a larger expansion.
    """
    compressed = max(1, min(info.compress_size, len(source.data)))
    out = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                if not out and chunk.startswith(_ARCHIVE_MAGIC):
                    raise _refuse(source, info.filename, "is itself an archive (nested archives are not expanded)")
                out += chunk
                if len(out) > budget:
                    raise _refuse(source, info.filename, "takes the unpacked total over the limit (a zip bomb?)")
                if len(out) > max_ratio * compressed:
                    raise _refuse(source, info.filename, f"expands more than {max_ratio} times (a zip bomb?)")
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise _refuse(source, info.filename, f"cannot be read ({exc})") from exc
    return bytes(out)


def _member_source(source: SourceFile, name: str, contents: dict[str, bytes]) -> SourceFile:
    """A member as a source: the archive's hints, the other small members as companions by base name."""
    companions = {
        PurePosixPath(other).name: data
        for other, data in contents.items()
        if other != name and len(data) < COMPANION_MAX_BYTES
    }
    return SourceFile(
        name=f"{source.name}/{name}",
        data=contents[name],
        account_hint=source.account_hint,
        platform_hint=source.platform_hint,
        date_hint=source.date_hint,
        companions=companions,
    )


def size_text(n: int) -> str:
    """A byte count as people read it: 1.5 GB, 256 MB, 12 kB."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"
