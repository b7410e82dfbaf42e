"""The weekly flow retries only what a retry can mend."""

from __future__ import annotations

import errno

import pytest
from prefect.states import Failed

from flows.weekly import transient_io


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (OSError(errno.EIO, "input/output error on the share"), True),
        (TimeoutError("the share did not answer"), True),
        (FileNotFoundError("inbox"), False),
        (PermissionError("inbox"), False),
        (RuntimeError("a termination surfaced as an error"), False),
        (ValueError("a reader bug"), False),
    ],
)
def test_only_transient_io_errors_are_retried(error: BaseException, retried: bool) -> None:
    assert transient_io(None, None, Failed(data=error)) is retried
