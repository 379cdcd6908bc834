"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from fieldtheory import cli


@pytest.fixture
def run(capsys):
    """Run ``fieldtheory`` in-process: ``run(*argv)`` → (exit status, stdout, stderr)."""

    def invoke(*argv: str) -> tuple[int, str, str]:
        status = cli.main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return invoke
