r"""The nonlinear single-neuron saddle point of a mean-field Bayesian network (issue 15).

van Meegen & Sompolinsky, arXiv:2406.16689. At γ = 1 and ψ = α(h)·a the derived
single-neuron measure is (a integrated out; stage ``single_neuron``)

.. math:: p_v(h) \propto \mathcal N(h; 0, K)\, e^{E(h)},\quad
          E(h) = \tfrac{\sigma_a^2}2 \lVert V^\top\alpha(h)\rVert^2,\quad
          a\,|\,h \sim \mathcal N(\sigma_a^2 V^\top\alpha(h), \sigma_a^2),

and v is the minimiser of the convex F(v) = T/2‖v‖² − Σ v y + ln Z₁(v), whose gradient
is the saddle-point equation ⟨ψ_μk⟩_v − (y_μk − T v_μk) and whose Hessian is
T I + Cov_v(ψ). p_v is multimodal — the modes are the neurons' codes, and the fraction of
neurons carrying a code is its probability mass — so it is sampled by sequential Monte
Carlo with tempering (particles from the prior, the tilt switched on in steps chosen for an
effective sample size of one half, systematic resampling, MALA moves in whitened
coordinates h = L z): the mode weights come out right without any chain crossing a
barrier. v is found by damped Newton steps with common random numbers (the same seed at
every v); the ψ moments are Rao–Blackwellised over a.

Codes (the stated rule): a neuron's class response r_c = mean over the patterns μ of class
c of α(h_μ); entry c of its code is sign(r_c) where |r_c| > ½ max_c' |r_c'| and 0
otherwise; for an odd α the codes c and −c are one (the symmetry (a, h) → (−a, −h)),
written with a positive first nonzero entry. Codes are ordered by fraction (descending).
The scheme follows the paper's glossary (its Table 1): *sparse* — only a small subset of
neurons exhibit codes; *analog* — all neurons respond to all classes with different
strengths; *redundant* — every code is shared by a large subset of neurons. Stated rule:
the **coding participation** ρ = (E s)²/E[s²] of the response energy s = Σ_c r_c² is the
fraction of neurons that effectively carry the responses (Treves–Rolls population
sparseness of s; 1 when every neuron responds equally, m/(m + 2) for Gaussian responses
of equal variance in every neuron and class, → 0 when a vanishing fraction carries them).
``sparse`` when ρ < ⅓ · m/(m + 2) (fewer than a third of the neurons of a Gaussian
population effectively respond); otherwise ``analog`` when no class response is bimodal
(Sarle's coefficient b = (skew² + 1)/kurtosis ≤ 5/9, a Gaussian's is 1/3), else
``redundant``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    register_runtime,
)

__all__ = ["SingleNeuron", "classes_of", "codes_of", "combine_replicas", "participation",
           "response_energy", "solve_posterior_sampled"]

#: tempering levels after which a tilt counts as not normalisable
MAX_LEVELS = 400

#: Sarle's bimodality coefficient above which a class response counts as bimodal
BIMODAL = 5.0 / 9.0

#: the scheme is sparse where the coding participation is below this share of a
#: Gaussian population's, m/(m + 2)
SPARSE_SHARE = 1.0 / 3.0

#: the stated rule, as the results' ``info`` quote it
CODE_RULE = ("code entry sign(r_c) where |r_c| > max|r|/2 (r_c: mean α(h) over class c); "
             "odd α: c ≡ −c; scheme: sparse where the coding participation "
             "ρ = (E s)²/E s² of s = Σ_c r_c² is below ⅓·m/(m + 2), else analog where no "
             "class response is bimodal (Sarle's coefficient ≤ 5/9), else redundant")


def classes_of(y: np.ndarray) -> np.ndarray:
    """The class of each pattern from one-hot targets; SolverInputError otherwise."""
    if not (np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)):
        raise SolverInputError("the codes of a nonlinear network need one-hot targets (one "
                               "class per pattern: rows with a single 1, zeros elsewhere)")
    return np.argmax(y, axis=1)


class SingleNeuron:
    """The single-neuron measure p_v(h) of a PosteriorSpec, sampled by tempered SMC."""

    def __init__(self, spec, particles: int = 4000, moves: int = 5):
        K = spec.kernel
        lam, U = linalg.eigh(K)
        keep = lam > 1e-10 * lam.max()
        self.L = U[:, keep] * np.sqrt(lam[keep])          # h = L z
        self.s2 = spec.weight_variance
        self.alpha, self.dalpha = spec.alpha, spec.dalpha
        self.n, self.moves = int(particles), int(moves)
        self.homogeneous = _is_homogeneous(spec.alpha)

    def _energy(self, z, V, grad=False):
        if self.homogeneous:
            return self._direction_energy(z, V, grad)
        return self._tilt(z, V, grad)

    def _direction_energy(self, z, V, grad=False):
        """A positively homogeneous α (linear, ReLU): E(r u) = r² E(u), so the radius
        integrates out — the directions u = z/|z| have the density ∝ c(u)^(−k/2),
        c = 1 − 2E(u) (k = dim z), sampled here as N(z; 0, I) c(z/|z|)^(−k/2); the radius
        is drawn afterwards, r² ~ χ²_k / c. The heavy radial tails of the tilt are then
        exact rather than explored by moves."""
        k = z.shape[1]
        r = np.linalg.norm(z, axis=1, keepdims=True)
        u = z / r
        tilt = self._tilt(u, V, grad)
        E1, g1 = tilt if grad else (tilt, None)
        c = 1.0 - 2.0 * E1
        if np.any(c <= 0):
            raise ConvergenceError("the single-neuron measure is not normalisable: "
                                   "σ_a²‖Vᵀα(h)‖² ≥ hᵀK⁻¹h along some direction")
        E = -0.5 * k * np.log(c)
        if not grad:
            return E
        du = k * g1 / c[:, None]
        return E, (du - np.sum(du * u, axis=1, keepdims=True) * u) / r

    def radii(self, z, V, rng):
        """Exact radii for sampled directions (homogeneous α): r² ~ χ²_k / c(u)."""
        u = z / np.linalg.norm(z, axis=1, keepdims=True)
        c = 1.0 - 2.0 * self._tilt(u, V)
        return u * np.sqrt(rng.chisquare(z.shape[1], size=z.shape[0]) / c)[:, None]

    def _tilt(self, z, V, grad=False):
        h = z @ self.L.T
        al = self.alpha(h)
        B = al @ V
        E = 0.5 * self.s2 * np.sum(B * B, axis=1)
        if not grad:
            return E
        dh = self.s2 * self.dalpha(h) * (B @ V.T)
        return E, dh @ self.L

    def sample(self, V, seed: int):
        """Equally weighted particles h (n × P) of p_v."""
        rng = np.random.default_rng(seed)
        n = self.n
        z = rng.standard_normal((n, self.L.shape[1]))
        E = self._energy(z, V)
        t, eps, levels = 0.0, 0.5, 0
        while t < 1.0:
            dt = self._next_increment(E, 1.0 - t)
            logw = dt * E
            t = min(1.0, t + dt)
            z = z[self._systematic(logw, rng)]
            z, E, eps = self._mala(z, V, t, eps, rng)
            levels += 1
            if levels > MAX_LEVELS:
                raise ConvergenceError("the tempered sampler of the single neuron needed more "
                                       f"than {MAX_LEVELS} levels: the tilt is too strong")
        if self.homogeneous:
            z = self.radii(z, V, rng)
        return z @ self.L.T

    @staticmethod
    def _next_increment(E, room):
        """The largest dt ≤ room with ESS(exp(dt·E)) ≥ n/2 (bisection)."""

        def ess(dt):
            logw = dt * E
            w = np.exp(logw - logw.max())
            return w.sum() ** 2 / np.sum(w * w)

        if ess(room) >= 0.5 * E.size:
            return room
        lo, hi = 0.0, room
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if ess(mid) >= 0.5 * E.size else (lo, mid)
        return max(lo, 1e-12)

    @staticmethod
    def _systematic(logw, rng):
        w = np.exp(logw - logw.max())
        c = np.cumsum(w / w.sum())
        u = (rng.random() + np.arange(w.size)) / w.size
        return np.minimum(np.searchsorted(c, u), w.size - 1)

    def _mala(self, z, V, t, eps, rng):
        E, gE = self._energy(z, V, grad=True)
        for _ in range(self.moves):
            g = -z + t * gE
            prop = z + 0.5 * eps**2 * g + eps * rng.standard_normal(z.shape)
            Ep, gEp = self._energy(prop, V, grad=True)
            gp = -prop + t * gEp
            log_target = -0.5 * np.sum(z * z, 1) + t * E
            log_prop = -0.5 * np.sum(prop * prop, 1) + t * Ep
            fwd = -np.sum((prop - z - 0.5 * eps**2 * g) ** 2, 1) / (2 * eps**2)
            bwd = -np.sum((z - prop - 0.5 * eps**2 * gp) ** 2, 1) / (2 * eps**2)
            accept = np.log(rng.random(z.shape[0])) < log_prop - log_target + bwd - fwd
            z = np.where(accept[:, None], prop, z)
            E = np.where(accept, Ep, E)
            gE = np.where(accept[:, None], gEp, gE)
            eps *= float(np.exp(np.mean(accept) - 0.57))   # toward MALA's optimal 0.57
        return z, E, eps

    def moments(self, h, V):
        """⟨ψ_μk⟩ (P × m) and Cov(ψ) ((P m) × (P m)), Rao–Blackwellised over a."""
        al = self.alpha(h)
        B = al @ V
        n = h.shape[0]
        mean = self.s2 * al.T @ B / n
        P, m = mean.shape
        aa = al.T @ al / n                                  # E[α_μ α_ν]
        aab = np.einsum("iu,iv,ik,il->ukvl", al, al, B, B, optimize=True) / n
        second = (self.s2 * np.einsum("uv,kl->ukvl", aa, np.eye(m))
                  + self.s2**2 * aab).reshape(P * m, P * m)
        flat = mean.reshape(-1)
        return mean, second - np.outer(flat, flat)


def participation(responses: np.ndarray) -> float:
    """The coding participation ρ = (E s)²/E[s²] of the response energy s = Σ_c r_c² over
    neurons (rows of ``responses``, neurons × classes); the module docstring."""
    s = np.sum(np.asarray(responses, dtype=float) ** 2, axis=1)
    second = float(np.mean(s * s))
    return float(np.mean(s) ** 2 / second) if second > 0 else 1.0


def sparse_threshold(m: int) -> float:
    """The participation below which m classes count as sparsely coded: ⅓ of the
    participation m/(m + 2) of Gaussian responses of equal variance."""
    return SPARSE_SHARE * m / (m + 2.0)


def response_energy(moments, n, group_class, m: int) -> tuple[np.ndarray, np.ndarray]:
    r"""E[s | a] and E[s² | a] of the response energy s = Σ_c r_c², r_c the mean of α(h_μ)
    over the patterns of class c, given the readout a: the h_μ are then independent, and
    ``moments`` = (m₁, m₂, m₃, m₄), each groups × nodes, are the raw moments E[α^k | t_g]
    of one pattern of each group (``n`` patterns of group g, all of class
    ``group_class[g]``). With the cumulants κ_j of one pattern, those of r_c are
    K_j = Σ_{g∈c} n_g κ_j(g)/n_c^j, and

    .. math:: E r_c^2 = K_2 + K_1^2,\quad
              E r_c^4 = K_4 + 4K_3K_1 + 3K_2^2 + 6K_2K_1^2 + K_1^4,\quad
              E[s^2] = (\textstyle\sum_c E r_c^2)^2 - \sum_c (E r_c^2)^2 + \sum_c E r_c^4.
    """
    m1, m2, m3, m4 = (np.asarray(x, dtype=float) for x in moments)
    k1, k2 = m1, m2 - m1 * m1
    k3 = m3 - 3 * m2 * m1 + 2 * m1**3
    k4 = m4 - 4 * m3 * m1 - 3 * m2 * m2 + 12 * m2 * m1 * m1 - 6 * m1**4
    n = np.asarray(n, dtype=float)
    group_class = np.asarray(group_class)
    second, fourth = [], []
    for c in range(m):
        sel = group_class == c
        nc = float(n[sel].sum())
        if nc == 0:  # a class without patterns has no response
            continue
        w = n[sel].reshape((-1,) + (1,) * (m1.ndim - 1))
        K1, K2, K3, K4 = (np.sum(w * k[sel], axis=0) / nc**j
                          for j, k in enumerate((k1, k2, k3, k4), start=1))
        second.append(K2 + K1 * K1)
        fourth.append(K4 + 4 * K3 * K1 + 3 * K2 * K2 + 6 * K2 * K1 * K1 + K1**4)
    es = sum(second)
    es2 = es * es - sum(x * x for x in second) + sum(fourth)
    return es, es2


def codes_of(responses: np.ndarray, odd: bool, rho: float | None = None
             ) -> tuple[list[list[int]], list[float], str]:
    """Codes, their fractions and the scheme from class responses (neurons × classes),
    by the rule of the module docstring; ``rho``: the coding participation where it is
    known better than from these rows (the theory's exact integral)."""
    r = np.asarray(responses, dtype=float)
    top = np.max(np.abs(r), axis=1, keepdims=True)
    code = np.where(np.abs(r) > 0.5 * top, np.sign(r), 0.0).astype(int)
    if odd:  # c and −c are one code: the first nonzero entry positive
        first = code[np.arange(code.shape[0]), np.argmax(code != 0, axis=1)]
        code = code * np.where(first < 0, -1, 1)[:, None]
    patterns, counts = np.unique(code, axis=0, return_counts=True)
    order = sorted(range(len(counts)), key=lambda k: (-counts[k], tuple(-patterns[k])))
    fractions = [float(counts[k] / code.shape[0]) for k in order]
    patterns = [[int(v) for v in patterns[k]] for k in order]
    if rho is None:
        rho = participation(r)
    centred = r - r.mean(axis=0)
    var = np.mean(centred**2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        skew = np.mean(centred**3, axis=0) / var**1.5
        kurt = np.mean(centred**4, axis=0) / var**2
        b = (skew**2 + 1) / kurt
    if rho < sparse_threshold(r.shape[1]):
        scheme = "sparse"
    elif not np.any(np.nan_to_num(b) > BIMODAL):
        scheme = "analog"
    else:
        scheme = "redundant"
    return patterns, fractions, scheme


def _is_homogeneous(alpha) -> bool:
    """α(λh) = λα(h) for λ > 0 (linear, ReLU), checked on a grid."""
    u = np.linspace(-3, 3, 61)
    return bool(np.allclose(alpha(2.5 * u), 2.5 * alpha(u), rtol=1e-12, atol=1e-12))


def _is_odd(alpha) -> bool:
    u = np.linspace(-3, 3, 61)
    return bool(np.allclose(alpha(-u), -alpha(u), atol=1e-12))


def solve_posterior_sampled(spec, grid=None, options=None) -> dict:
    """``options``: ``particles`` (4000 per sample), ``iterations`` (60), ``tolerance``
    (3: the saddle-point residual, in nominal Monte-Carlo standard errors, that ends the
    common-random-number Newton phase — as does a residual that stops falling for three
    steps), ``replicas`` (4), ``averaged`` (6 Newton iterates
    on fresh samples per replica, averaged), ``seed``. The ``stderr`` is the spread of the
    replicas, which includes the Monte-Carlo error of v.
    Returns the observables, ``codes``, ``scheme``, ``stderr`` and ``info``."""
    options = dict(options or {})
    if spec.offset is not None or spec.dalpha is None:
        raise SolverInputError("the sampled single neuron takes ψ = α(h)·a with α' known")
    classes = classes_of(spec.y)
    neuron = SingleNeuron(spec, int(options.get("particles", 4000)))
    seed = int(options.get("seed", spec.seed))
    Y, T = spec.y, spec.temperature
    P, m = Y.shape
    # start: the linear-response guess with the prior kernel of α
    h0 = neuron.sample(np.zeros((P, m)), seed)
    C0 = neuron.alpha(h0).T @ neuron.alpha(h0) / h0.shape[0]
    V = linalg.solve(neuron.s2 * C0 + (T + 1e-9) * np.eye(P), Y, assume_a="pos")
    for _halving in range(60):  # the linear-response guess may tilt far too strongly
        try:
            h = neuron.sample(V, seed)
            if np.max(np.abs(neuron.moments(h, V)[0])) <= 2 * np.max(np.abs(Y)):
                break
        except ConvergenceError:
            pass
        V = V / 2
    history = []
    tolerance = float(options.get("tolerance", 3.0))
    for _ in range(int(options.get("iterations", 60))):
        V, h, done = _sampled_newton_step(neuron, V, h, Y, T, seed, history, tolerance)
        # at the noise floor: below the tolerance, or no progress over three steps
        if done or (len(history) > 3 and min(history[-3:]) >= history[-4]):
            break
    else:
        raise ConvergenceError("the sampled single-neuron saddle point did not reach its "
                               f"Monte-Carlo noise floor ({tolerance:g} standard errors; last "
                               f"{history[-1]:.3g})", residuals=history)
    # each replica: Newton steps on fresh samples from the common point, the iterates
    # averaged (Polyak), then its own sample — so the replica spread holds the error of v
    odd = _is_odd(neuron.alpha)
    runs = []
    for r in range(int(options.get("replicas", 4))):
        iterates, V_r, h_r = [], V, h
        for j in range(int(options.get("averaged", 6))):
            V_r, h_r, _ = _sampled_newton_step(neuron, V_r, h_r, Y, T, seed + 1000 * (r + 1) + j,
                                       [], np.inf)
            iterates.append(V_r)
        runs.append(_sampled_observables(spec, neuron, np.mean(iterates, axis=0),
                                 seed + 1000 * (r + 1) + 999, classes, odd))
    out, stderr = _sampled_combine(runs)
    out["info"] = {"iterations": len(history), "residual": out.pop("residual_z"),
                   "particles": neuron.n, "replicas": len(runs),
                   "coding_participation": "from the particles, whose far tail is "
                                           "under-resolved: an upper bound in effect (a sparse "
                                           "code lives there; docs/models/bayesian.md)",
                   "rule": CODE_RULE}
    out["stderr"] = stderr
    return out


def _sampled_newton_step(neuron, V, h, Y, T, seed, history, tolerance):
    """One Newton step on F(v) from the sample h at V; the step is damped to half of |V|
    until the residual is within ``tolerance`` nominal standard errors (then ``done``),
    and halved where the new tilt is not normalisable."""
    P, m = Y.shape
    mean, cov = neuron.moments(h, V)
    g = (T * V - Y + mean).reshape(-1)
    se = np.sqrt(np.maximum(np.diag(cov), 1e-300) / (0.5 * neuron.n))
    history.append(float(np.max(np.abs(g) / se)))
    done = history[-1] < tolerance
    step = linalg.lstsq(T * np.eye(P * m) + cov, g)[0].reshape(P, m)
    damping = 1.0 if done or not np.isfinite(tolerance) else min(
        1.0, 0.5 * (np.max(np.abs(V)) + 1e-12) / np.max(np.abs(step)))
    for _halving in range(8):
        try:
            h_new = neuron.sample(V - damping * step, seed)
            return V - damping * step, h_new, done
        except ConvergenceError:
            damping /= 2
    # V itself tilts too strongly along a direction its own sample missed: shrinking v
    # weakens the tilt along every direction (E scales with |v|²), so retreat toward 0
    for _retreat in range(30):
        V = 0.8 * V
        try:
            return V, neuron.sample(V, seed), False
        except ConvergenceError:
            continue
    raise ConvergenceError("the single-neuron measure is not normalisable near the Newton "
                           "iterate", residuals=history)


def _sampled_observables(spec, neuron, V, seed, classes, odd) -> dict:
    """One replica: the observables from one SMC sample at V."""
    h = neuron.sample(V, seed)
    m = V.shape[1]
    al = neuron.alpha(h)
    B = al @ V
    mean, cov = neuron.moments(h, V)
    responses = np.stack([al[:, classes == c].mean(axis=1) for c in range(m)], axis=1)
    patterns, fractions, scheme = codes_of(responses, odd)
    out = {"readout_second_moment": neuron.s2 * np.eye(m) + neuron.s2**2 * B.T @ B / h.shape[0],
           "kernel_posterior": h.T @ h / h.shape[0],
           "codes": dict(zip(map(tuple, patterns), fractions, strict=True)),
           "coding_participation": participation(responses),
           "scheme": scheme,
           "residual": spec.temperature * V - spec.y + mean}
    if spec.test is not None:
        out["prediction"] = _sampled_prediction(spec, neuron, h, V, mean, cov)
    return out


def _sampled_combine(runs: list[dict]) -> tuple[dict, dict]:
    """Replica means and standard errors (spread / √R) of A and the kernel, then the codes,
    scheme and prediction (:func:`combine_replicas`); the saddle-point residual as a
    z-score."""
    out, err = combine_replicas(runs)
    for key in ("readout_second_moment", "kernel_posterior"):
        out[key], err[key] = _replica_stat([r[key] for r in runs])
    g, g_err = _replica_stat([r["residual"] for r in runs])
    out["residual_z"] = float(np.max(np.abs(g) / np.maximum(g_err, 1e-300)))
    return out, err


def _replica_stat(values):
    """Mean and standard error (spread / √R; 0 for one replica) over replicas."""
    values = np.asarray(values, dtype=float)
    R = values.shape[0]
    spread = values.std(axis=0, ddof=1) / np.sqrt(R) if R > 1 else np.zeros_like(values[0])
    return values.mean(axis=0), spread


def combine_replicas(runs: list[dict]) -> tuple[dict, dict]:
    """Codes over the union of the replicas' patterns (mean fractions, ordered by
    fraction), the scheme by majority and, where present, the prediction's mean and
    variance — each with its standard error across the replicas."""
    out, err = {}, {}
    if "prediction" in runs[0]:
        out["prediction"], err["prediction"] = {}, {}
        for key in ("mean", "variance"):
            if key not in runs[0]["prediction"]:    # the condensate limit: no N·Var
                continue
            out["prediction"][key], err["prediction"][key] = _replica_stat(
                [r["prediction"][key] for r in runs])
    patterns = sorted({p for r in runs for p in r["codes"]})
    table = np.array([[r["codes"].get(p, 0.0) for p in patterns] for r in runs])
    frac, frac_err = _replica_stat(table)
    order = sorted(range(len(patterns)), key=lambda k: (-frac[k], tuple(-np.array(patterns[k]))))
    out["codes"] = {"patterns": [list(patterns[k]) for k in order],
                    "fractions": [float(frac[k]) for k in order]}
    err["codes"] = {"fractions": [float(frac_err[k]) for k in order]}
    schemes = [r["scheme"] for r in runs]
    out["scheme"] = max(set(schemes), key=schemes.count)
    if "coding_participation" in runs[0]:
        mean, spread = _replica_stat([r["coding_participation"] for r in runs])
        out["coding_participation"], err["coding_participation"] = float(mean), float(spread)
    return out, err


def alpha_at_test_inputs(spec, alpha, h) -> tuple[np.ndarray, np.ndarray]:
    """E[α(h*) | h] and E[α(h*)² | h] per draw and test input (draws × P*): h* | h is
    Gaussian with mean k*ᵀK⁺h and variance k** − k*ᵀK⁺k* (Gauss–Hermite, 40 nodes)."""
    kstar, kss = spec.test_kernels()
    proj = kstar @ linalg.pinvh(spec.kernel)              # k*ᵀ K⁺
    cond_var = np.maximum(kss - np.sum(proj * kstar, axis=1), 0.0)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    first = np.empty((h.shape[0], kstar.shape[0]))
    second = np.empty_like(first)
    for p in range(kstar.shape[0]):     # one test input at a time: draws × nodes in memory
        values = alpha((h @ proj[p])[:, None] + np.sqrt(cond_var[p]) * nodes[None, :])
        first[:, p], second[:, p] = values @ weights, values**2 @ weights
    return first, second


def _sampled_prediction(spec, neuron, h, V, mean, cov) -> dict:
    """Mean and N·Var of f(x*) from the particles: h* | h Gaussian (Gauss–Hermite)."""
    kstar, _ = spec.test_kernels()
    a1_all, a2_all = alpha_at_test_inputs(spec, neuron.alpha, h)
    al = neuron.alpha(h)
    B = al @ V                                            # n × m
    n = h.shape[0]
    s2 = neuron.s2
    T = spec.temperature
    P, m = mean.shape
    H = T * np.eye(P * m) + cov
    Hinv = linalg.pinvh(H)
    means = np.empty((kstar.shape[0], m))
    var = np.empty_like(means)
    for p in range(kstar.shape[0]):
        a1, a2 = a1_all[:, p], a2_all[:, p]               # E[α(h*) | h], E[α(h*)² | h]
        f = s2 * a1[:, None] * B                          # E[a_k α* | h]
        means[p] = f.mean(axis=0)
        own = (s2 * a2[:, None] + s2**2 * a2[:, None] * B**2).mean(axis=0) - means[p] ** 2
        # Cov(ψ*_k, ψ_νl) = E[α* α_ν (s2 δ_kl + s2² B_k B_l)] − means
        cross = (s2 * np.einsum("i,iv,kl->kvl", a1, al, np.eye(m))
                 + s2**2 * np.einsum("i,iv,ik,il->kvl", a1, al, B, B)) / n
        cross = cross.reshape(m, P * m) - np.outer(means[p], mean.reshape(-1))
        var[p] = own - np.einsum("ka,ab,kb->k", cross, Hinv, cross)
    return {"mean": means, "variance": np.maximum(var, 0.0)}


@register_runtime("posterior_sampled",
                  applies=lambda spec: spec.gamma == 1.0 and spec.offset is None,
                  priority=50, needs=lambda problem: False, kind="posterior")
def _solve_sampled(spec, grid=None, options=None) -> dict:
    return solve_posterior_sampled(spec, grid, options)
