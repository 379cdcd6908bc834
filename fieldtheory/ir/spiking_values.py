"""Spiking networks at numbers: what the simulators (numpy, NEST) and solvers read.

The declared spiking network (:mod:`fieldtheory.ir.spiking`) is lowered, with the
parameters at numbers, to a :class:`NetworkValues` of plain floats and ints. Units as in
NEST: time in ms, voltage in mV, rates in Hz (spikes per second).

Conventions (docs/models/spiking.md):

* LIF, delta synapses (``tau_s == 0``): τ_m dV/dt = −(V − E_L) + τ_m Σ_k J_k δ(t − t_k − d_k);
  a spike of weight J makes V jump by J (mV). V ≥ V_th: a spike, V ← V_reset, held there
  for ``t_ref``.
* LIF, exponential synapses (``tau_s > 0``): τ_m dV/dt = −(V − E_L) + I,
  τ_s dI/dt = −I + τ_m Σ_k J_k δ(t − t_k − d_k): the PSP has the same area τ_m J as with
  delta synapses (in NEST's ``iaf_psc_exp`` the weight is the current amplitude
  C_m J / τ_s in pA).
* GLM: V obeys the same subthreshold equation (no threshold, no reset); spikes are an
  inhomogeneous Poisson process of intensity F(V(t)) (Hz), ``intensity``; ``t_ref`` is 0.
* External drive: independent Poisson spike trains, ``in_degree`` of them per neuron, each
  of rate ``rate`` (Hz), weight ``weight`` (mV), delay ``delay`` (ms).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ConnectionValues", "DriveValues", "NetworkValues", "NeuronValues"]


@dataclass(frozen=True)
class NeuronValues:
    """One population's neuron model at numbers.

    ``model`` is ``"lif"`` or ``"glm"``. ``intensity`` (GLM only) maps an array of V (mV)
    to intensities (Hz), vectorised; ``intensity_text`` prints it.
    """

    model: str
    tau_m: float
    E_L: float = 0.0
    V_th: float = np.inf
    V_reset: float = 0.0
    t_ref: float = 0.0
    tau_s: float = 0.0
    C_m: float = 250.0
    intensity: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)
    intensity_text: str = ""
    V_init: tuple[float, float] = (0.0, 0.0)   # V(0) ~ N(mean, sd²), mV


@dataclass(frozen=True)
class ConnectionValues:
    """One block of synapses from population ``source`` onto population ``target``.

    ``rule``:
      * ``"fixed_indegree"``: every target neuron receives exactly ``number`` synapses
        from distinct source neurons (``multapses`` allows repeats; ``autapses`` a
        neuron onto itself when source == target);
      * ``"bernoulli"``: each ordered pair is connected with probability ``number``;
      * ``"fixed_total_number"``: ``number`` synapses in all, source and target drawn
        uniformly with replacement (multapses), as in Potjans & Diesmann 2014.
    Weights: normal with mean ``weight`` and standard deviation ``weight_sd`` (mV),
    sign-clipped when ``clip_sign`` (a weight never changes sign). Delays: normal with
    mean ``delay`` and sd ``delay_sd`` (ms), rounded to the step, at least one step.
    """

    target: int
    source: int
    rule: str
    number: float
    weight: float
    weight_sd: float = 0.0
    delay: float = 1.5
    delay_sd: float = 0.0
    multapses: bool = False
    autapses: bool = False
    clip_sign: bool = True


@dataclass(frozen=True)
class DriveValues:
    """External Poisson drive onto population ``target``."""

    target: int
    rate: float
    in_degree: float
    weight: float
    delay: float = 0.1


@dataclass(frozen=True)
class NetworkValues:
    """The network at numbers: populations (names, sizes, neurons), blocks, drives."""

    populations: tuple[str, ...]
    sizes: tuple[int, ...]
    neurons: tuple[NeuronValues, ...]
    connections: tuple[ConnectionValues, ...]
    drives: tuple[DriveValues, ...] = ()

    @property
    def N(self) -> int:
        return int(sum(self.sizes))

    def offsets(self) -> np.ndarray:
        """First neuron index of every population (contiguous blocks, declaration order)."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
