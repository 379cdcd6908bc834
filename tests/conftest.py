"""Fixtures shared by the test modules, and the test configuration.

BLAS and OpenMP use one thread each (unless the environment says otherwise): the suite
runs on 2 shared cores, where the libraries' default of one thread per core only makes
processes (sweeps, workers) oversubscribe them. The variables must be set before numpy
is first imported, hence here, at the top of the first module pytest loads.
"""

from __future__ import annotations

import os

#: The thread variables of OpenBLAS, OpenMP, MKL and Accelerate, all set to 1 by default.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "VECLIB_MAXIMUM_THREADS")
for _variable in BLAS_THREAD_VARIABLES:
    os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402 (after the thread limits)
from support.strict_json import strict_loads  # noqa: E402

from fieldtheory import cli  # noqa: E402


@pytest.fixture
def run(capsys):
    """Run ``fieldtheory`` in-process: ``run(*argv)`` → (exit status, stdout, stderr).

    With ``--json`` in ``argv`` and output on stdout, that output is parsed strictly
    (:func:`support.strict_json.strict_loads`: no NaN, no Infinity) before it is returned,
    so every JSON-printing command line of the suite is checked.
    """

    def invoke(*argv: str) -> tuple[int, str, str]:
        status = cli.main(list(argv))
        out, err = capsys.readouterr()
        if "--json" in argv and out.strip():
            strict_loads(out)
        return status, out, err

    return invoke
