r"""Numerical fixed points of sampled finite networks (issue 16, arXiv:2210.07877).

For one realised network of a declared model (continuous time, one field per site,
D = 0) the fixed points F(x*) = 0 of ẋ = F(x) are found by Newton steps with the action's
exact Jacobian, backtracked until |F| falls (a trust region in effect), to
|F|/√N < ``RESIDUAL``, started from points of a trajectory of the network and from random
points on shells around it; solutions closer than ``SAME`` (in |Δx|/√N) are one fixed
point; starts that these Newton phases leave at a slow point are retried by following a
probability-one homotopy from the start (:meth:`FixedPointSystem._homotopy`). The Jacobian is
assembled from the action's own derivatives (the simulator's
:class:`~fieldtheory.simulate.tangent.TangentMap` pieces):
∂F/∂x = diag(∂r/∂x − a) + Σ_m diag(∂r/∂c_m) J_m diag(∂f_m/∂x).

Completeness: starts come in batches; the search of a network stops when ``patience``
batches in a row find nothing new (then the count is called complete) or the budget of
starts is spent (then it is a lower bound, and ``complete`` says so).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from fieldtheory.errors import ParameterError, SimulationError
from fieldtheory.ir.couplings import DenseCoupling, LowRankCoupling
from fieldtheory.simulate.integrators import integrate
from fieldtheory.simulate.network import Network
from fieldtheory.simulate.tangent import TangentMap

__all__ = ["FixedPointSearch", "NetworkFixedPoints", "search_network"]

#: A fixed point: |F(x*)|/√N below this.
RESIDUAL = 1e-10
#: Two solutions closer than this (|Δx|/√N) are the same fixed point.
SAME = 1e-6
#: The homotopy retry (:meth:`FixedPointSystem._homotopy`) by default from this N on, with
#: this many arclength steps at most. Below, the Newton phases with many cheap starts give
#: complete counts (the count tests and study), and a homotopy per failed start would
#: multiply their cost (measured: 6× for the test suite's counts at N ≤ 20).
HOMOTOPY_FROM = 100
HOMOTOPY_STEPS = 4000
#: How a homotopy path can end (``FixedPointSystem.homotopy_outcome``).
HOMOTOPY_OUTCOMES = ("reached", "escaped", "stalled", "steps", "unfinished")


class FixedPointSystem:
    """F(x) and its dense Jacobian for one realised network (one trial, one field)."""

    def __init__(self, network: Network) -> None:
        if network.trials != 1:
            raise SimulationError("FixedPointSystem takes one realised network (trials = 1)")
        compiled = network.compiled
        if compiled.is_discrete:
            raise ParameterError("fixed points: maps are not supported yet (a map's fixed "
                                 "point and stability differ from the flow's); declare the "
                                 "network in continuous time")
        if network.fields != 1:
            raise ParameterError(f"fixed points: one field per site is supported, the model "
                                 f"has {network.fields} ({', '.join(compiled.field_names)})")
        if compiled.is_noisy:
            raise ParameterError("fixed points are those of the noiseless network: set the "
                                 "noise intensity to 0 (D = 0)")
        self.network = network
        self.tangent = TangentMap(network)
        self.N = network.N
        self.matrices = [_dense(c.matrices[0]) for c in network.couplings]
        self.leak = np.asarray(network.leak[0], dtype=float)
        self.homotopy_outcomes: Counter = Counter()  # starts handed to the homotopy, by outcome
        #: how the last homotopy ended: "reached" (a fixed point), "escaped" (|x| left the
        #: bound), "stalled" (step below its minimum), "steps" (budget spent) or
        #: "unfinished" (Newton from the point at λ = 1 did not converge)
        self.homotopy_outcome: str | None = None

    @property
    def homotopy_starts(self) -> int:
        """Starts handed to the homotopy so far (Newton's phases left them without a
        fixed point)."""
        return sum(self.homotopy_outcomes.values())

    def F(self, x: np.ndarray) -> np.ndarray:
        """F(x) for one state (N,) or a batch (B, N)."""
        x = np.asarray(x, dtype=float)
        return self._F(x[None])[0] if x.ndim == 1 else self._F(x)

    def _sums(self, X: np.ndarray) -> tuple[list, list]:
        fields, bs = [X], self.network.site_values
        sums = []
        for term, matrix in zip(self.network.compiled.sums, self.matrices, strict=True):
            pre = _as_shape(term.presynaptic(*fields, *bs), X.shape)
            sums.append(pre @ matrix.T)
        return fields, sums

    def _F(self, X: np.ndarray) -> np.ndarray:
        fields, sums = self._sums(X)
        rest = self.network.compiled.rest[0](*fields, *sums, *self.network.site_values)
        return _as_shape(rest, X.shape) - self.leak * X

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """∂F/∂x for one state (N, N) or a batch (B, N, N)."""
        x = np.asarray(x, dtype=float)
        return self._jacobian(x[None])[0] if x.ndim == 1 else self._jacobian(x)

    def _jacobian(self, X: np.ndarray) -> np.ndarray:
        t, bs = self.tangent, self.network.site_values
        fields, sums = self._sums(X)
        args = (*fields, *sums, *bs)

        def value(fn, arguments):
            return _as_shape(fn(*arguments), X.shape)

        diag = np.broadcast_to(-self.leak, X.shape).copy()
        if t.field_terms[0][0] is not None:
            diag += value(t.field_terms[0][0], args)
        jac = np.zeros((X.shape[0], self.N, self.N))
        for m, matrix in enumerate(self.matrices):
            outer, inner = t.sum_terms[0][m], t.pre_terms[m][0]
            if outer is None or inner is None:
                continue
            jac += (value(outer, args)[:, :, None] * matrix[None]
                    * value(inner, (*fields, *bs))[:, None, :])
        idx = np.arange(self.N)
        jac[:, idx, idx] += diag
        return jac

    def _newton_steps(self, X: np.ndarray, Fx: np.ndarray) -> np.ndarray:
        """J(x)⁻¹ F(x) for each start; least squares where a Jacobian is singular."""
        jac = self._jacobian(X)
        try:
            return np.linalg.solve(jac, Fx[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            return np.stack([np.linalg.lstsq(j, f, rcond=None)[0]
                             for j, f in zip(jac, Fx, strict=True)])

    def solve_batch(self, X0: np.ndarray, iterations: int = 40,
                    homotopy_steps: int = 0) -> list:
        """Fixed points from the starts ``X0`` (B, N): for each a point or None.

        Up to three phases. (1) All starts at once: Newton's method with backtracking on
        |F| (each start's step halved until its |F| falls); the Newton direction always
        descends |F|², so a start stops only near a singular Jacobian with |F| > 0 (a
        "slow point"), at a non-finite iterate, or after ``iterations`` steps. (2) The
        starts that stopped are retried from where they began by Newton steps capped at
        |Δx|/√N ≤ 0.3·|x0|/√N and not required to lower |F| (a non-monotone trust region
        that can leave the basin of a slow point), at most 100 steps. (3) With
        ``homotopy_steps`` > 0, those still without a fixed point are retried, one at a
        time, by following the homotopy from their start to a fixed point
        (:meth:`_homotopy`) — what finds fixed points of large chaotic networks (N ≳ 500
        at g = 2), where (1) and (2) end at slow points.
        """
        X0 = np.array(X0, dtype=float)
        out = self._monotone(X0.copy(), iterations)
        retry = [k for k, x in enumerate(out) if x is None]
        if retry:
            again = self._capped(X0[retry])
            for k, x in zip(retry, again, strict=True):
                out[k] = x
        if homotopy_steps > 0:
            for k in [k for k, x in enumerate(out) if x is None]:
                out[k] = self._homotopy(X0[k], homotopy_steps)
                self.homotopy_outcomes[self.homotopy_outcome] += 1
        return out

    def _homotopy(self, a: np.ndarray, steps: int) -> np.ndarray | None:
        r"""Follow the convex homotopy from ``a`` to a fixed point: a fixed point, or None.

        H(x, λ) = λ F(x) − (1 − λ)(x − a) = 0 has the single solution x = a at λ = 0 and
        the fixed points at λ = 1. For generic ``a`` its solution set through (a, 0) is a
        smooth curve, which cannot end, cannot come back to λ = 0 (one solution there) and,
        when the solutions are bounded, cannot escape; so it reaches λ = 1 (the
        probability-one homotopy of Chow, Mallet-Paret & Yorke, Math. Comp. 32, 887
        (1978)). Bounded holds for a leak and a bounded φ: for ẋ = −x + Jφ(x) the path is
        x = λJφ(x) + (1 − λ)a — the network's coupling switched on from 0, with the start
        as an input that is switched off. The curve is followed in its arclength, not in λ,
        so it passes the folds where λ turns back (where continuation in g stops: two
        fixed points meet and vanish). Predictor along the tangent, corrector by chord
        Newton on the bordered system [H; tᵀ(y − y_pred)] to |Δy|/√N < 10⁻⁷ (one LU per
        step, which also gives the next tangent; Allgower & Georg, *Introduction to
        numerical continuation methods*, 2003, ch. 2), step halved
        where the corrector fails, lengthened where it converges fast; at λ = 1 the secant
        point is finished by Newton steps on F (phase 1's). Gives up after ``steps`` steps,
        when the step falls below 10⁻⁸√N, or when |x|/√N leaves 10 × max(|a|/√N, 1);
        ``homotopy_outcome`` says which.
        """
        import scipy.linalg

        N, scale = self.N, math.sqrt(self.N)
        bound = 10.0 * max(float(np.linalg.norm(a)) / scale, 1.0) * scale
        eye = np.eye(N)

        def value(y):
            x, lam = y[:-1], y[-1]
            return lam * self._F(x[None])[0] - (1.0 - lam) * (x - a)

        def parts(y):
            """∂H/∂x and ∂H/∂λ."""
            x, lam = y[:-1], y[-1]
            jac = lam * self._jacobian(x[None])[0] - (1.0 - lam) * eye
            return jac, self._F(x[None])[0] + x - a

        def bordered(jac, column, t):
            matrix = np.empty((N + 1, N + 1))
            matrix[:N, :N], matrix[:N, N], matrix[N] = jac, column, t
            return scipy.linalg.lu_factor(matrix, check_finite=False)

        unit = np.zeros(N + 1)
        unit[-1] = 1.0
        y = np.append(np.asarray(a, dtype=float), 0.0)
        f0 = self._F(y[None, :-1])[0]
        t = np.append(f0, 1.0)  # dx/dλ = F(a) at λ = 0
        t /= np.linalg.norm(t)
        h, h_min, h_max = 0.05 * scale, 1e-8 * scale, 0.5 * scale
        with np.errstate(all="ignore"):
            for _ in range(steps):
                while True:
                    if h < h_min:
                        self.homotopy_outcome = "stalled"
                        return None
                    predicted = y + h * t
                    try:
                        lu = bordered(*parts(predicted), t)
                    except (np.linalg.LinAlgError, ValueError):
                        h *= 0.5
                        continue
                    z, converged, used = predicted.copy(), False, 0
                    while used < 8 and not converged:
                        used += 1
                        residual = np.append(value(z), t @ (z - predicted))
                        dz = scipy.linalg.lu_solve(lu, residual, check_finite=False)
                        z -= dz
                        if not np.all(np.isfinite(z)):
                            break
                        converged = bool(np.linalg.norm(dz) < 1e-7 * scale)
                    if converged and np.linalg.norm(z - predicted) < 0.5 * h:
                        break
                    h *= 0.5
                if np.linalg.norm(z[:-1]) > bound:
                    self.homotopy_outcome = "escaped"
                    return None
                if z[-1] >= 1.0:
                    s = (1.0 - y[-1]) / (z[-1] - y[-1])
                    point = self._monotone((y[:-1] + s * (z[:-1] - y[:-1]))[None], 8)[0]
                    self.homotopy_outcome = "reached" if point is not None else "unfinished"
                    return point
                # the next tangent from the same factors (the curve's tangent at the
                # predicted point: O(h) off the one at z, which only the predictor uses);
                # tᵀt_new = 1 keeps the orientation through folds
                tangent = scipy.linalg.lu_solve(lu, unit, check_finite=False)
                if not np.all(np.isfinite(tangent)):
                    self.homotopy_outcome = "stalled"
                    return None
                y, t = z, tangent / np.linalg.norm(tangent)
                if used <= 3:
                    h = min(1.5 * h, h_max)
        self.homotopy_outcome = "steps"
        return None

    def _capped(self, X: np.ndarray, iterations: int = 100, cap: float = 0.3) -> list:
        """Newton steps capped at |Δx|/√N ≤ cap·|x0|/√N, without a descent condition."""
        scale = math.sqrt(self.N)
        out: list = [None] * X.shape[0]
        active = np.arange(X.shape[0])
        radius = cap * np.maximum(np.linalg.norm(X, axis=1) / scale, 1e-3)
        with np.errstate(all="ignore"):
            for _ in range(iterations):
                Fx = self._F(X)
                norm = _row_norms(Fx) / scale
                done = norm < RESIDUAL
                for k in np.nonzero(done)[0]:
                    out[active[k]] = X[k].copy()
                keep = ~done & np.all(np.isfinite(X), axis=1) & np.isfinite(norm)
                X, Fx, active, radius = X[keep], Fx[keep], active[keep], radius[keep]
                if active.size == 0:
                    break
                step = self._newton_steps(X, Fx)
                length = _row_norms(step) / scale
                X = X - np.minimum(1.0, radius / np.maximum(length, 1e-300))[:, None] * step
        return out

    def _monotone(self, X: np.ndarray, iterations: int) -> list:
        """Phase 1 of :meth:`solve_batch`."""
        scale = math.sqrt(self.N)
        out: list = [None] * X.shape[0]
        active = np.arange(X.shape[0])
        with np.errstate(all="ignore"):
            Fx = self._F(X)
            norm = _row_norms(Fx)
            for _ in range(iterations + 8):
                done = norm / scale < RESIDUAL
                for k in np.nonzero(done)[0]:
                    out[active[k]] = X[k].copy()
                keep = ~done & np.isfinite(norm)
                if not np.any(keep):
                    break
                X, Fx, norm, active = X[keep], Fx[keep], norm[keep], active[keep]
                step = self._newton_steps(X, Fx)
                pending = np.arange(X.shape[0])
                newX, newF, newN = X.copy(), Fx.copy(), norm.copy()
                # backtracking over the lengths 1, ½, …, 2⁻²⁹: the first that decreases
                # |F| enough, LINE_SEARCH_BATCH lengths per evaluation (one call to F
                # for the batch instead of one per halving: the small systems of the
                # searches are dominated by the per-call overhead)
                for exponents in _LENGTH_CHUNKS:
                    length = 0.5 ** exponents                               # (m,)
                    n, m = pending.size, length.size
                    trial = (X[pending][:, None, :]
                             - length[None, :, None] * step[pending][:, None, :])
                    ft = self._F(trial.reshape(n * m, -1)).reshape(n, m, -1)
                    nt = _row_norms(ft)
                    ok = nt < norm[pending][:, None] * (1 - 1e-4 * length[None, :])
                    first = np.argmax(ok, axis=1)
                    found = ok[np.arange(n), first]
                    rows, at = np.nonzero(found)[0], first[found]
                    hit = pending[rows]
                    newX[hit], newF[hit], newN[hit] = (trial[rows, at], ft[rows, at],
                                                       nt[rows, at])
                    pending = pending[~found]
                    if pending.size == 0:
                        break
                stuck = np.zeros(X.shape[0], dtype=bool)
                stuck[pending] = True
                X, Fx, norm = newX[~stuck], newF[~stuck], newN[~stuck]
                active = active[~stuck]
                if active.size == 0:
                    break
        return out

    def spectrum(self, x: np.ndarray) -> np.ndarray:
        """Eigenvalues of the Jacobian at ``x``."""
        return np.linalg.eigvals(self.jacobian(x))


#: Step lengths 2⁻ʲ tried per evaluation of F in the backtracking of the monotone phase.
LINE_SEARCH_BATCH = 4
_LENGTH_CHUNKS = np.array_split(np.arange(30), range(LINE_SEARCH_BATCH, 30, LINE_SEARCH_BATCH))


def _as_shape(value, shape: tuple) -> np.ndarray:
    """``value`` as a float array of ``shape`` (broadcast only where it is not already)."""
    value = np.asarray(value, dtype=float)
    return value if value.shape == shape else np.broadcast_to(value, shape)


def _row_norms(a: np.ndarray) -> np.ndarray:
    """Euclidean norms along the last axis of ``a`` (``np.linalg.norm(a, axis=-1)`` without
    its per-call overhead, which dominates the small batches of the searches)."""
    return np.sqrt(np.einsum("...i,...i->...", a, a))


def _dense(matrix) -> np.ndarray:
    if isinstance(matrix, DenseCoupling):
        return np.asarray(matrix.matrix, dtype=float)
    if isinstance(matrix, LowRankCoupling):
        return matrix.dense()
    return np.asarray(matrix.dense(), dtype=float)


@dataclass
class NetworkFixedPoints:
    """The fixed points found in one network and what the search did."""

    points: np.ndarray  # (count, N)
    starts: int
    failures: int  # starts that converged to no fixed point
    complete: bool  # stopped because ``patience`` batches found nothing new
    eigenvalues: list = field(default_factory=list)  # per fixed point
    trajectory: np.ndarray | None = None  # (samples, N) points of the trajectory
    velocity: np.ndarray | None = None  # F at those points
    homotopy_outcomes: dict = field(default_factory=dict)  # outcome → starts

    @property
    def count(self) -> int:
        return int(self.points.shape[0])

    @property
    def homotopy_starts(self) -> int:
        """Starts that Newton left without a fixed point, retried by the homotopy."""
        return sum(self.homotopy_outcomes.values())

    @property
    def q(self) -> np.ndarray:
        """|x*|²/N of each fixed point."""
        if self.count == 0:
            return np.zeros(0)
        return np.sum(self.points**2, axis=1) / self.points.shape[1]


@dataclass(frozen=True)
class FixedPointSearch:
    """The search budget: ``batch`` starts per batch, at most ``max_starts`` per network,
    stop after ``patience`` batches without a new fixed point; ``trajectory`` = (t_burn,
    t_record, dt, samples): starts from ``samples`` points of a trajectory recorded after
    ``t_burn``; random starts on shells of radius² uniform in ``shells`` × the
    trajectory's mean |x|²/N; ``homotopy_steps``: the homotopy retry of starts that
    Newton's phases leave without a fixed point (at most that many arclength steps; 0
    switches it off; None: see :meth:`homotopy`)."""

    batch: int = 50
    max_starts: int = 2000
    patience: int = 3
    trajectory: tuple[float, float, float, int] = (50.0, 50.0, 0.05, 40)
    shells: tuple[float, float] = (0.2, 3.0)
    spectra: bool = True
    homotopy_steps: int | None = None

    def homotopy(self, N: int) -> int:
        """The homotopy's step budget for networks of N units (``homotopy_steps``; by
        default ``HOMOTOPY_STEPS`` from N = ``HOMOTOPY_FROM`` on, 0 below, where the
        Newton phases and many cheap starts already give complete counts)."""
        if self.homotopy_steps is not None:
            return int(self.homotopy_steps)
        return HOMOTOPY_STEPS if N >= HOMOTOPY_FROM else 0


def _record(system: FixedPointSystem, rng: np.random.Generator, budget: FixedPointSearch):
    """Points of a trajectory from x(0) ~ N(0, 1) after a burn-in (RK4)."""
    t_burn, t_record, dt, samples = budget.trajectory
    network = system.network
    x = rng.standard_normal((1, system.N))
    x = integrate(network, x, t_burn, dt, method="rk4")
    every = t_record / samples
    steps = max(1, round(every / dt))
    points = []
    for _ in range(samples):
        x = integrate(network, x, steps * dt, dt, method="rk4")
        points.append(x[0].copy())
    return np.array(points)


def search_network(system: FixedPointSystem, rng: np.random.Generator,
                   budget: FixedPointSearch = FixedPointSearch()) -> NetworkFixedPoints:
    """The distinct fixed points of one network (see the module for the rule)."""
    N = system.N
    trajectory = _record(system, rng, budget) if budget.trajectory[3] > 0 else None
    if trajectory is not None:
        velocity = np.array([system.F(x) for x in trajectory])
        scale = float(np.mean(np.sum(trajectory**2, axis=1)) / N)
    else:
        velocity, scale = None, 1.0
    scale = max(scale, 1e-2)
    found: list[np.ndarray] = []
    starts = failures = 0
    outcomes = Counter(system.homotopy_outcomes)
    quiet = 0
    queue = list(trajectory) if trajectory is not None else []
    while starts < budget.max_starts and quiet < budget.patience:
        size = min(budget.batch, budget.max_starts - starts)
        batch = []
        while queue and len(batch) < size:
            batch.append(queue.pop(0))
        while len(batch) < size:
            radius = math.sqrt(scale * rng.uniform(*budget.shells))
            z = rng.standard_normal(N)
            batch.append(radius * math.sqrt(N) * z / np.linalg.norm(z))
        starts += size
        new = 0
        for x in system.solve_batch(np.array(batch), homotopy_steps=budget.homotopy(N)):
            if x is None:
                failures += 1
                continue
            if found:
                d = np.min(np.linalg.norm(np.array(found) - x, axis=1)) / math.sqrt(N)
                if d < SAME:
                    continue
            found.append(x)
            new += 1
        quiet = quiet + 1 if new == 0 else 0
    points = np.array(found) if found else np.zeros((0, N))
    eigenvalues = [system.spectrum(x) for x in points] if budget.spectra else []
    # complete: nothing new for ``patience`` batches — and something found at all (a search
    # whose every start failed has not shown that it sees the fixed points)
    return NetworkFixedPoints(points, starts, failures, quiet >= budget.patience and bool(found),
                              eigenvalues, trajectory, velocity,
                              dict(system.homotopy_outcomes - outcomes))


def nearest(points: np.ndarray, trajectory: np.ndarray, velocity: np.ndarray) -> dict:
    r"""Distance (|x* − x|/√N) to the nearest fixed point and the cosine between the
    velocity ẋ and the direction x* − x, for each trajectory point; ``correlation`` the
    Pearson correlation of the speed |ẋ|/√N with that distance over the points (None
    for fewer than three points or no spread)."""
    N = trajectory.shape[1]
    if points.shape[0] == 0:
        return {"distance": np.zeros(0), "cosine": np.zeros(0), "correlation": None}
    diff = points[None, :, :] - trajectory[:, None, :]
    dist = np.linalg.norm(diff, axis=2)
    k = np.argmin(dist, axis=1)
    rows = np.arange(trajectory.shape[0])
    to_fp = diff[rows, k]
    norms = np.linalg.norm(to_fp, axis=1) * np.linalg.norm(velocity, axis=1)
    # a trajectory point at (or on) a fixed point has no direction: its cosine is left out
    moving = norms > 0
    cos = np.sum(to_fp * velocity, axis=1)[moving] / norms[moving]
    distance = dist[rows, k] / math.sqrt(N)
    speed = np.linalg.norm(velocity, axis=1) / math.sqrt(N)
    correlation = None
    if distance.size >= 3 and np.std(distance) > 0 and np.std(speed) > 0:
        correlation = float(np.corrcoef(speed, distance)[0, 1])
    return {"distance": distance, "cosine": cos, "correlation": correlation}
