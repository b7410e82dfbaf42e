"""The built wheel carries every file of the packages: a data file left out of ``package-data`` works in
the checkout (an editable install) and breaks every installed copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cityimage", "readers", "warehouse", "transforms", "expectations", "flows", "publish")


def test_the_wheel_carries_every_file_of_the_packages(tmp_path: Path) -> None:
    # Built from a copy of the tracked files: a checkout's own build/ and egg-info would hide an omission.
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    source = tmp_path / "source"
    for name in tracked:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("cityimage-*.whl")
    carried = set(zipfile.ZipFile(wheel).namelist())
    package_files = [name for name in tracked if name.startswith(tuple(f"{p}/" for p in PACKAGES))]
    assert len(package_files) > 100
    assert [f for f in package_files if f not in carried] == []
    # The names the distribution puts in an environment (docs/architecture.md: its own virtualenv).
    top_level = {name.split("/")[0] for name in carried if "/" in name and not name.split("/")[0].endswith(".dist-info")}
    assert top_level == set(PACKAGES)
