"""Mutated real-format fixtures through the registry: a ReadResult whose accounting holds, or a
ReadError with a message; never another exception, never a hang.

Mutations are seeded (reproducible): bit flips, truncation, duplicated lines, swapped delimiters,
random bytes in a cell, a dropped quote, a doubled header. MUTATIONS per fixture keep it fast.
"""

from __future__ import annotations

import random
import signal
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from readers import registry
from readers.base import ReadError, ReadResult, SourceFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MUTATIONS = 30
SECONDS_PER_READ = 10
FILES = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".jsonl"))


def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)] if data else data


def _dup_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    return b"".join(lines)


def _swap_delimiters(data: bytes, rng: random.Random) -> bytes:
    a, b = rng.sample([b",", b";", b"\t", b"|", b'"', b"\n"], 2)
    return data.replace(a, b"\x00").replace(b, a).replace(b"\x00", b)


def _random_cell(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 24)))
    return data[:i] + junk + data[i + rng.randint(0, 8):]


def _drop_quote(data: bytes, rng: random.Random) -> bytes:
    spots = [i for i, c in enumerate(data) if c == ord('"')]
    if not spots:
        return _random_cell(data, rng)
    i = rng.choice(spots)
    return data[:i] + data[i + 1:]


def _text_cell(data: bytes, rng: random.Random) -> bytes:
    """Replace a number-looking cell with a hostile token."""
    token = rng.choice([b"-1", b"1e309", b"NaN", b"99999999999999999999999", b"=1+1", b"\xe2\x80\xae", b"0x1F", b"", b"N/A"])
    digits = [i for i, c in enumerate(data) if chr(c).isdigit()]
    if not digits:
        return data + token
    i = rng.choice(digits)
    return data[:i] + token + data[i + 1:]


MUTATORS = (_flip, _truncate, _dup_lines, _swap_delimiters, _random_cell, _drop_quote, _text_cell)


@contextmanager
def deadline(seconds: int):
    def _expired(signum, frame):  # noqa: ARG001
        raise TimeoutError(f"a reader took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _source(path: Path, data: bytes) -> SourceFile:
    rel = path.relative_to(FIXTURES)
    companions = {p.name: p.read_bytes() for p in path.parent.glob("*.csv") if p != path}
    return SourceFile(name=str(rel), data=data, account_hint="cityimage_demo", platform_hint=rel.parts[0],
                      date_hint=date(2026, 2, 1), companions=companions)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(FIXTURES)) for p in FILES])
def test_mutated_fixtures_read_or_fail_cleanly(path: Path) -> None:
    original = path.read_bytes()
    rng = random.Random(f"{path.name}-{len(original)}")
    outcomes = {"read": 0, "refused": 0}
    for n in range(MUTATIONS):
        mutator = MUTATORS[n % len(MUTATORS)]
        data = mutator(original, rng)
        try:
            with deadline(SECONDS_PER_READ):
                result = registry.read(_source(path, data))
        except ReadError as exc:
            assert str(exc).strip(), f"{mutator.__name__} #{n}: a ReadError without a message"
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # the test's point: anything else is a reader bug
            raise AssertionError(
                f"{path.name}, mutation {n} ({mutator.__name__}): {type(exc).__name__}: {exc}\nbytes: {data[:400]!r}"
            ) from exc
        assert isinstance(result, ReadResult)
        result.check_accounting()
        outcomes["read"] += 1
    assert sum(outcomes.values()) == MUTATIONS
