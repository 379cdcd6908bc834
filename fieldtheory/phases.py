"""The solution branches of the theory and the phases of a sweep, as string enums.

A **branch** is what a solver found at one parameter point — physics, never the name of
the runtime that found it (that is ``TheoryResult.method``):

* ``fixed_point``: no temporal fluctuations (D = 0; a static spread across units may
  remain);
* ``chaotic``: self-sustained temporal fluctuations without noise (D = 0);
* ``noise_driven``: a stationary state driven by white noise (D > 0), chaotic or not —
  whether it is chaotic is read off its largest Lyapunov exponent, by the sweep;
* ``layered``: a layered (deep or recurrent) network run on a data set for a finite number
  of layers — no stationary state, the Gaussian-process kernels of its layers.

A spontaneously magnetised solution is not a branch of its own: it is one of the above
with m ≠ 0, and whether m ≠ 0 *breaks* a symmetry is a property of the site that the sweep
tests (:mod:`fieldtheory.sweep.classification`). A **phase** is the sweep's label of a
point: ``fixed_point``, ``noise_driven`` (noisy and stable), ``chaotic``, ``magnetic``,
``magnetic_chaotic``, or ``failed`` (the solve raised).

Both are :class:`enum.StrEnum`: a member *is* its string (``Branch.CHAOTIC ==
"chaotic"``), JSON writes it as that string, and its ``repr`` is the string's, so lists
and tuples of members read like the JSON. The generated solver modules, which import
nothing from fieldtheory, return plain strings; :func:`fieldtheory.solve.solve` converts
them here, and an unknown string is a bug of the runtime (``ValueError``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Branch", "Phase"]


class _Label(StrEnum):
    """A StrEnum whose repr is its value's: ``[Branch.CHAOTIC]`` prints ``['chaotic']``."""

    def __repr__(self) -> str:
        return repr(self.value)


class Branch(_Label):
    """The kind of stationary solution a solver found (see the module docstring)."""

    FIXED_POINT = "fixed_point"
    CHAOTIC = "chaotic"
    NOISE_DRIVEN = "noise_driven"
    LAYERED = "layered"


class Phase(_Label):
    """The phase of one sweep point (see :func:`fieldtheory.sweep.classify`)."""

    FIXED_POINT = "fixed_point"
    NOISE_DRIVEN = "noise_driven"
    CHAOTIC = "chaotic"
    MAGNETIC = "magnetic"
    MAGNETIC_CHAOTIC = "magnetic_chaotic"
    FAILED = "failed"

    @property
    def chaotic(self) -> bool:
        """Whether the phase has a positive largest Lyapunov exponent."""
        return self in (Phase.CHAOTIC, Phase.MAGNETIC_CHAOTIC)

    @property
    def magnetic(self) -> bool:
        """Whether the phase is spontaneously magnetised."""
        return self in (Phase.MAGNETIC, Phase.MAGNETIC_CHAOTIC)
