"""The command line's contract: every command has help and is documented, a bad setting exits 2 in every
command that reads the settings, and each known failure exits with the code the README gives it.

The commands run in this process through ``cityimage.cli.exit_code``, the same function the console
script ends with, so the mapping tested is the one users get.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import duckdb
import pytest
import typer

from cityimage.cli import _known_failure, app, exit_code
from cityimage.profile import ProfileError
from cityimage.settings import SettingsError
from flows.stages import EmptyWeek
from flows.weekly import QualityGateFailed
from warehouse.lock import WarehouseBusy

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
#: Commands that read no setting: the shipped classifiers alone, or the snapshot folders they are given.
WITHOUT_SETTINGS = {"evaluate", "train", "classify", "network"}
#: The fewest arguments each command needs to get as far as reading its settings.
ARGUMENTS = {"ingest": ["."], "restore": ["backup.duckdb"], "sql": ["SELECT 1"],
             "backfill": ["--from", "2026-W01", "--to", "2026-W02"]}


def readme_exit_codes() -> dict[int, str]:
    """The README's "Exit codes:" paragraph as code -> meaning."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = " ".join(text[text.index("Exit codes:") + len("Exit codes:"):].split("\n\n")[0].split())
    return {int(code): meaning for code, meaning in re.findall(r"(?:^|, )(\d+) (.+?)(?=, \d+ |$)", paragraph)}


def test_every_command_has_help_and_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    assert len(COMMANDS) >= 15, COMMANDS
    undocumented = [name for name in COMMANDS if f"cityimage {name}" not in docs]
    assert not undocumented, f"commands the README and docs/ never show: {undocumented}"
    for name in COMMANDS:
        assert exit_code([name, "--help"]) == 0
        shown = capsys.readouterr().out
        assert f"cityimage {name}" in shown and len(shown.split()) > 12, f"{name} --help says too little:\n{shown}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in WITHOUT_SETTINGS])
def test_a_bad_setting_exits_2_naming_it(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITYIMAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CITYIMAGE_DUCKDB_MEMORY_LIMIT", "a lot")
    assert exit_code([command, *ARGUMENTS.get(command, [])]) == 2
    assert "CITYIMAGE_DUCKDB_MEMORY_LIMIT" in capsys.readouterr().err
    assert not (tmp_path / "home").exists(), "a command wrote before its settings were checked"


@pytest.mark.parametrize(("failure", "code", "meaning"), [
    (SettingsError("CITYIMAGE_HOME is not a folder"), 2, "bad input or settings"),
    (ProfileError("profile.yaml: accounts is empty"), 2, "bad input or settings"),
    (FileNotFoundError("no such inbox"), 2, "bad input or settings"),
    (WarehouseBusy("held by run 123 since 09:00"), 3, "busy"),
    (QualityGateFailed("stg_comment: ids unique"), 4, "quality gates stopped"),
    (OSError(errno.ENOSPC, "No space left on device"), 5, "disk is full"),
    (duckdb.IOException("could not write: No space left on device"), 5, "disk is full"),
    (EmptyWeek("2026-W01 holds nothing"), 6, "holds no data"),
])
def test_each_known_failure_exits_with_the_readme_code(failure: Exception, code: int, meaning: str) -> None:
    codes = readme_exit_codes()
    mapped = _known_failure(failure)
    assert mapped is not None and mapped[1] == code
    assert meaning in codes[code], f"README says {code} is {codes.get(code)!r}"


def test_an_unknown_failure_keeps_its_traceback() -> None:
    assert _known_failure(RuntimeError("a bug")) is None
    assert set(readme_exit_codes()) >= {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130, 143}


def test_every_setting_is_in_the_readme_table() -> None:
    from cityimage.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"| `CITYIMAGE_{name.upper()}` |" not in readme]
    assert not missing, f"settings the README's table leaves out: {missing}"
