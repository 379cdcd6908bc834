r"""The readout's marginal p_v(a) in polar coordinates, for a positively homogeneous α
(linear, ReLU, leaky ReLU): radial integrals per direction and adaptive cubature over the
directions (issue 15).

van Meegen & Sompolinsky, arXiv:2406.16689. On mutually orthogonal inputs the
single-neuron measure of the readout is (:mod:`.posterior_quadrature`)

.. math:: p_v(a) \propto \mathcal N(a; 0, \sigma_a^2 I_m) \prod_g M_g(t_g)^{n_g},
          \qquad t_g = v_g\cdot a,

with M the tilted moment generating function of h ~ N(0, κ_g). For α(h) = c₊h (h > 0),
c₋h (h < 0), ln M(t) grows like κ_g c_±² t²/2, so along a ray a = r â the log-density
falls like −q(â) r²/2 with the *direction curvature*

.. math:: q(\hat a) = \sigma_a^{-2} - \sum_g n_g \kappa_g (v_g\cdot\hat a)^2
          \max\big(c_+^2\,[c_+ v_g\cdot\hat a > 0],\; c_-^2\,[c_- v_g\cdot\hat a < 0]\big).

The measure is normalisable iff min_â q > 0 (``direction_margin``), and the saddle point
of ReLU networks on larger data sets lies close to that boundary (P = 30, three classes:
min q = 3e-6 σ_a^{-2} at the solution, one needle per class, each driven by that class
alone): thin needles of directions whose radial extent is 1/√q ≫ σ_a, with ridges along
the great circles v_g·â = 0 — what a product grid
in a does not resolve. Here the radius is integrated per direction (composite
Gauss–Legendre in u with r = σ_a sinh(βu), out to where the density has fallen by e^{−40}
of its peak on the ray: the core at r ~ σ_a and the far tail alike) and the directions by
adaptive cubature on the faces of the cube projected onto the sphere (tensor
Gauss–Legendre cells, each split in 2^{m−1} while the split changes Z, A or ⟨ψ⟩ by more
than the tolerance; cells around the local maxima of the direction density are split
first down to the needle's width √(q σ_a²)). The radial moments are the exact tilted
moments (:class:`~.posterior_quadrature.HomogeneousTilt`), so every integral the saddle
point needs is deterministic.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from fieldtheory.solvers.runtime.common import ConvergenceError
from fieldtheory.solvers.runtime.posterior_sampled import response_energy

__all__ = ["PolarIntegrator", "direction_margin", "readout_gradient_hessian"]

#: radial Gauss–Legendre panels × nodes per direction
POLAR_RADIAL_PANELS = 16
POLAR_RADIAL_NODES = 8

#: Gauss–Legendre nodes per dimension of a direction cell
POLAR_CELL_NODES = 5

#: log-density drop along a ray beyond which the radial integral ends
POLAR_RADIAL_DROP = 40.0

#: the largest radius scanned, in σ_a: beyond it the measure counts as not normalisable
POLAR_MAX_RADIUS = 1e6

#: the deepest split of a direction cell (half-width 2^-depth on a cube face)
POLAR_MAX_DEPTH = 18

#: the most directions in one integration
POLAR_MAX_DIRECTIONS = 400_000

#: with a radial cap, the direction margin (σ_a²q) down to which the measure counts as on
#: its boundary rather than beyond it (rounding of v pinned on its bound)
CAPPED_MARGIN_SLACK = 1e-9


def _slopes(alpha) -> tuple[float, float]:
    """(c₊, c₋) of a positively homogeneous α: α(1) and −α(−1)."""
    one = alpha(np.array([1.0, -1.0]))
    return float(one[0]), float(-one[1])


def needle_side(slopes) -> tuple[float, float]:
    """(c, s) of a one-sided homogeneous α: the growing side's slope c and the sign s of
    the needle along v̂_g (t = v_g·a must have the sign that makes c·t·κ grow the tilt:
    s = sign c₊ on the upper side, −sign c₋ on the lower)."""
    cp, cm = slopes
    return (cp, float(np.sign(cp))) if cp != 0.0 else (cm, float(-np.sign(cm)))


def _growth(c: np.ndarray, slopes) -> np.ndarray:
    """The coefficient of κ t²/2 in ln M(t c) for t → ∞ per entry of c (a direction's
    v_g·â): c² max(c₊² [c₊c > 0], c₋² [c₋c < 0])."""
    cp, cm = slopes
    up = np.where(cp * c > 0, cp * cp, 0.0)
    down = np.where(cm * c < 0, cm * cm, 0.0)
    return c * c * np.maximum(up, down)


def direction_margin(V: np.ndarray, n: np.ndarray, kappa: np.ndarray, s2: float, slopes,
                     seed: int = 0) -> tuple[float, np.ndarray]:
    """min over unit â of q(â) (module docstring) times σ_a², and up to 8 local maxima of
    the direction density (unit vectors, the smallest q first): projected gradient ascent
    of Σ_g n_g κ_g growth_g on the sphere from 4096 random directions, ±e_k and ±v̂_g."""
    m = V.shape[1]
    weight = n * kappa
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(4096, m))
    u = np.concatenate([u, np.eye(m), -np.eye(m), V, -V])
    u /= np.linalg.norm(u, axis=1, keepdims=True)

    def strength(u):
        return _growth(u @ V.T, slopes) @ weight

    top = u                         # every start ascends: each local maximum is found
    for _ in range(200):
        c = top @ V.T
        # gradient of Σ w growth(c): growth = c² k(c) with k piecewise constant
        k = _growth(np.where(c == 0, 0.0, np.ones_like(c)) * np.sign(c), slopes)
        grad = (2 * c * k * weight) @ V
        grad -= np.sum(grad * top, axis=1, keepdims=True) * top
        top = top + 0.5 * grad / max(float(np.max(np.abs(weight))) * float(
            np.max(np.sum(V * V, axis=1))), 1e-300)
        top /= np.linalg.norm(top, axis=1, keepdims=True)
    values = strength(top)
    order = np.argsort(-values)
    peaks = []
    for i in order:
        if values[i] <= 0:          # every group off: no growth, not a needle
            break
        if all(float(top[i] @ p) < 1 - 1e-3 for p in peaks):
            peaks.append(top[i])
        if len(peaks) == 8:
            break
    q = 1.0 - s2 * float(values[order[0]])
    return q, np.array(peaks)


def readout_gradient_hessian(n, V, Yg, T, r):
    """∂F/∂v_g = n_g (T v_g − y_g + ⟨ψ⟩_g) and the Hessian T n_g δ + Cov(Σ_{μ∈g} ψ_μ)."""
    G, m = V.shape
    grad = n[:, None] * (T * V - Yg + r["mean"])
    H = np.einsum("g,h,gkhl->gkhl", n, n, r["cross"])
    for g in range(G):
        H[g, :, g, :] += n[g] * (r["own"][g] - r["cross"][g, :, g, :])
    flat = (n[:, None] * r["mean"]).ravel()
    H = H.reshape(G * m, G * m) - np.outer(flat, flat)
    H += T * np.diag(np.repeat(n, m))
    return grad, H


class PolarIntegrator:
    """Z, A, ⟨ψ⟩ and the pattern moments of p_v(a) for a homogeneous α (module docstring).

    ``tables``: one exact tilt per group (``HomogeneousTilt``), ``n`` the patterns per
    group, ``s2`` = σ_a², ``m`` the readouts, ``slopes`` (c₊, c₋)."""

    def __init__(self, tables, n, kappa, s2: float, m: int, slopes, tolerance: float,
                 cap: float | None = None):
        self.tables, self.n, self.kappa = tables, np.asarray(n, float), np.asarray(kappa, float)
        self.s2, self.m, self.slopes, self.tolerance = float(s2), int(m), slopes, tolerance
        #: the radial cap (in σ_a) of the condensate formulation: the rays nearest a
        #: pinned group's needle (``pinned``) end there — the needle beyond is the
        #: condensate (:mod:`.readout_condensate`)
        self.cap = None if cap is None else float(cap)
        x, w = np.polynomial.legendre.leggauss(POLAR_RADIAL_NODES)
        edges = np.linspace(0.0, 1.0, POLAR_RADIAL_PANELS + 1)
        left, width = edges[:-1], np.diff(edges)
        self._u = (left[:, None] + 0.5 * width[:, None] * (x + 1)).ravel()
        self._wu = (0.5 * width[:, None] * w).ravel()
        # the radial reach is found on a geometric scan (ratio 1.41: the reach is
        # overestimated by at most that factor, which the sinh-mapped nodes absorb)
        self._scan = np.sqrt(self.s2) * np.geomspace(1e-3, POLAR_MAX_RADIUS, 61)
        self._cell_x, self._cell_w = np.polynomial.legendre.leggauss(POLAR_CELL_NODES)

    # ------------------------------------------------------------------ along a ray
    def _log_ray(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """ln of the density × r^{m−1} at radii r (dirs × k) along directions with
        v_g·â = c (dirs × G)."""
        ell = -0.5 * r * r / self.s2 + (self.m - 1) * np.log(r)
        for g, table in enumerate(self.tables):
            ell = ell + self.n[g] * table.log_m(r * c[:, g:g + 1])
        return ell

    def _capped(self, U: np.ndarray, V: np.ndarray, pinned) -> np.ndarray:
        """Which directions end at the cap: those whose nearest needle (the side of α's
        growth along ±v̂_g) belongs to a pinned group."""
        if pinned is None or not np.any(pinned):
            return np.zeros(U.shape[0], dtype=bool)
        side = needle_side(self.slopes)[1]
        needles = side * V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-300)
        cosine = U @ needles.T
        nearest = np.argmax(cosine, axis=1)
        return np.asarray(pinned)[nearest] & (cosine[np.arange(U.shape[0]), nearest] > 0)

    def _rays(self, U: np.ndarray, V: np.ndarray, responses=None, pinned=None):
        """Per direction (rows of U): ln of the radial integral ∫ r^{m−1} ρ(rU) dr and the
        radial expectations E[r²], E[r D1_g], E[r² D1_g D1_h], E[r² D2_g], E[H1_g H1_h],
        E[H2_g] under it; rays nearest a ``pinned`` group's needle end at the cap."""
        c = U @ V.T
        capped = self._capped(U, V, pinned)
        scan = np.broadcast_to(self._scan, (U.shape[0], self._scan.size))
        if np.any(capped):
            fraction = np.linspace(0.0, 1.0, self._scan.size)[None, :]
            reach = np.where(capped, self.cap, POLAR_MAX_RADIUS)[:, None]
            scan = np.sqrt(self.s2) * 1e-3 * (reach / 1e-3) ** fraction
        ell = self._log_ray(scan, c)
        peak = np.argmax(ell, axis=1)
        top = ell[np.arange(ell.shape[0]), peak]
        if np.any((ell[:, -1] > top - POLAR_RADIAL_DROP) & ~capped):
            raise ConvergenceError(
                "the single-neuron measure is not normalisable (or its readout reaches "
                f"beyond {POLAR_MAX_RADIUS:g} σ_a): σ_a²‖Vᵀα(h)‖² ≥ hᵀK⁻¹h along some "
                "direction")
        below = ell < top[:, None] - POLAR_RADIAL_DROP
        below &= np.arange(ell.shape[1])[None, :] > peak[:, None]
        # capped (condensate formulation): a ray still dense at the cap ends there
        r_hi = scan[np.arange(scan.shape[0]),
                    np.where(below.any(axis=1), np.argmax(below, axis=1), -1)]
        s = np.sqrt(self.s2)
        beta = np.arcsinh(r_hi / s)[:, None]
        r = s * np.sinh(beta * self._u[None, :])                       # dirs × k
        G = V.shape[0]
        D1, D2, H1, H2 = (np.empty((G, *r.shape)) for _ in range(4))
        energy = None
        # the density along the ray from the same tilts as the moments (one evaluation)
        logw = (-0.5 * r * r / self.s2 + (self.m - 1) * np.log(r) + np.log(self._wu)[None, :]
                + np.log(s * beta * np.cosh(beta * self._u[None, :])))
        for g, table in enumerate(self.tables):
            lnM, D1[g], D2[g], H1[g], H2[g] = table.values(r * c[:, g:g + 1])
            logw += self.n[g] * lnM
        if responses is not None:
            moments = np.stack([np.stack(table.alpha_moments(r * c[:, g:g + 1]))
                                for g, table in enumerate(self.tables)], axis=1)
            energy = response_energy(moments, self.n, responses, self.m)
        lnZ = logsumexp(logw, axis=1)
        w = np.exp(logw - lnZ[:, None])
        r2w = r * r * w
        out = {
            "r2": r2w.sum(axis=1),
            "rD1": np.einsum("dk,gdk->dg", r * w, D1),
            "r2D1D1": np.einsum("dk,gdk,hdk->dgh", r2w, D1, D1),
            "r2D2": np.einsum("dk,gdk->dg", r2w, D2),
            "H1H1": np.einsum("dk,gdk,hdk->dgh", w, H1, H1),
            "H2": np.einsum("dk,gdk->dg", w, H2),
        }
        if energy is not None:
            out["s"] = (w * energy[0]).sum(axis=1)
            out["s2"] = (w * energy[1]).sum(axis=1)
        return lnZ, out, (r, w)

    def _moments(self, U, rays):
        """The moment vector per direction: Z-normalised A, ⟨ψ⟩ and pattern moments."""
        d = U.shape[0]
        outer = U[:, :, None] * U[:, None, :]                          # d × m × m
        parts = [
            np.ones((d, 1)),
            (outer * rays["r2"][:, None, None]).reshape(d, -1),
            np.einsum("dg,dk->dgk", rays["rD1"], U).reshape(d, -1),
            np.einsum("dgh,dkl->dgkhl", rays["r2D1D1"], outer).reshape(d, -1),
            np.einsum("dg,dkl->dgkl", rays["r2D2"], outer).reshape(d, -1),
            rays["H1H1"].reshape(d, -1),
            rays["H2"],
        ]
        if "s" in rays:
            parts += [rays["s"][:, None], rays["s2"][:, None]]
        return np.concatenate(parts, axis=1)

    # ------------------------------------------------------------------ directions
    def _faces(self):
        """(axis, sign) of each face of the cube [−1, 1]^m."""
        return [(k, s) for k in range(self.m) for s in (1.0, -1.0)]

    def _cell_nodes(self, face, centre, half):
        """Unit directions and solid-angle weights of the Gauss–Legendre nodes of cells
        (centre: cells × (m−1), half: cells) on one face."""
        axis, sign = face
        d = self.m - 1
        cells = centre.shape[0]
        if d == 0:
            U = np.zeros((cells, self.m))
            U[:, axis] = sign
            return U, np.ones(cells)
        grids = np.meshgrid(*([self._cell_x] * d), indexing="ij")
        wgrid = np.prod(np.meshgrid(*([self._cell_w] * d), indexing="ij"), axis=0).ravel()
        local = np.stack([g.ravel() for g in grids], axis=1)           # nodes × d
        xi = centre[:, None, :] + half[:, None, None] * local[None]   # cells × nodes × d
        p = np.empty((*xi.shape[:2], self.m))
        others = [k for k in range(self.m) if k != axis]
        p[..., axis] = sign
        p[..., others] = xi
        norm = np.linalg.norm(p, axis=2)
        U = (p / norm[..., None]).reshape(-1, self.m)
        w = (wgrid[None, :] * half[:, None] ** d / norm**self.m).ravel()
        return U, w

    def _evaluate(self, face_index, centre, half, V, responses=None, pinned=None):
        """ln scale and integral of the moment vector over each cell of one face."""
        U, w = self._cell_nodes(self._faces()[face_index], centre, half)
        lnZ, rays, _ = self._rays(U, V, responses, pinned)
        vec = self._moments(U, rays)
        per = U.shape[0] // centre.shape[0]
        lz = (lnZ + np.log(w)).reshape(-1, per)
        scale = lz.max(axis=1)
        weight = np.exp(lz - scale[:, None])
        return scale, np.einsum("cn,cnk->ck", weight, vec.reshape(-1, per, vec.shape[1]))

    def integrate(self, V: np.ndarray, responses: np.ndarray | None = None,
                  pinned: np.ndarray | None = None) -> dict:
        """The integrals ``solve_posterior_quadrature`` reads (``lnZ``, ``A``, ``mean``,
        ``cross``, ``own``, ``hh``, ``h2``, ``error``, ``size``) and a sampler of a;
        with ``responses`` (the class of each group) also ``response_s`` and
        ``response_s2``, E s and E s² of the response energy, on which the cubature then
        converges too; with ``pinned`` (a flag per group, the condensate formulation)
        the rays nearest a pinned group's needle end at the cap, and a margin 0 (that
        group on its bound) is integrable."""
        capping = pinned is not None and bool(np.any(pinned))
        q, peaks = direction_margin(V, self.n, self.kappa, self.s2, self.slopes)
        if q <= (-CAPPED_MARGIN_SLACK if capping else 0.0):
            raise ConvergenceError(
                "the single-neuron measure is not normalisable: σ_a²‖Vᵀα(h)‖² ≥ hᵀK⁻¹h "
                f"along some direction (direction margin {q:.3g})")
        d = self.m - 1
        if d == 0:
            leaves = [(f, np.zeros(0), 1.0) for f in range(len(self._faces()))]
            scale, vec = self._cell_values(leaves, V, responses, pinned)
            return self._result(leaves, (scale, vec), np.zeros(len(leaves)), V, pinned)
        # initial cells: 4^d per face; cells around the needles split to their width
        ticks = np.array([-0.75, -0.25, 0.25, 0.75])
        centres = np.array(np.meshgrid(*([ticks] * d), indexing="ij")).reshape(d, -1).T
        leaves = [(f, c, 0.25) for f in range(len(self._faces())) for c in centres]
        weight = self.n * self.kappa
        for p in peaks:
            q_p = 1.0 - self.s2 * float(_growth(p @ V.T, self.slopes) @ weight)
            if q_p <= 0.1:
                # the needle's angular width: √q, or where the cap ends its rays
                # (q·cap² ~ 1) for a pinned group's needle
                width = np.sqrt(max(q_p, 1e-14))
                if self._capped(p[None, :], V, pinned)[0]:
                    width = max(np.sqrt(max(q_p, 0.0)), 1.0 / self.cap)
                leaves = self._split_towards(leaves, p, width)
        scale, vec = self._cell_values(leaves, V, responses, pinned)
        errors = np.full(len(leaves), np.nan)        # nan: not yet checked by a split
        for _pass in range(2 * POLAR_MAX_DEPTH):
            unchecked = np.flatnonzero(np.isnan(errors))
            if unchecked.size == 0:
                break
            if (len(leaves) + 3 * unchecked.size) * POLAR_CELL_NODES**d > POLAR_MAX_DIRECTIONS:
                raise ConvergenceError(
                    "the readout's direction cubature did not converge within "
                    f"{POLAR_MAX_DIRECTIONS} directions")
            top = float(np.max(scale))
            norm = self._norms(np.exp(scale - top) @ vec)
            kids = [child for i in unchecked for child in self._children(leaves[i])]
            kscale, kvec = self._cell_values(kids, V, responses, pinned)
            per = 2**d
            split = np.zeros(len(leaves), dtype=bool)
            for j, i in enumerate(unchecked):
                sel = slice(j * per, (j + 1) * per)
                child_sum = np.exp(kscale[sel] - top) @ kvec[sel]
                parent = np.exp(scale[i] - top) * vec[i]
                errors[i] = float(np.max(np.abs(child_sum - parent) / norm))
                split[i] = (errors[i] > self.tolerance / 16
                            and leaves[i][2] >= 2.0**-POLAR_MAX_DEPTH)
            # a split cell is replaced by its children, which are checked next
            chosen = np.repeat(split[unchecked], per)
            keep = ~split
            leaves = [leaf for leaf, k in zip(leaves, keep, strict=True) if k] + [
                kid for kid, c in zip(kids, chosen, strict=True) if c]
            scale = np.concatenate([scale[keep], kscale[chosen]])
            vec = np.concatenate([vec[keep], kvec[chosen]])
            errors = np.concatenate([errors[keep], np.full(int(chosen.sum()), np.nan)])
        else:
            raise ConvergenceError("the readout's direction cubature did not settle")
        return self._result(leaves, (scale, vec), errors, V, pinned)

    def _split_towards(self, leaves, p, width):
        """Split the cells containing the direction p until their half-width is below
        the needle's width (in face coordinates)."""
        axis = int(np.argmax(np.abs(p)))
        face = self._faces().index((axis, float(np.sign(p[axis]))))
        others = [k for k in range(self.m) if k != axis]
        xi = p[others] / abs(p[axis])
        for _ in range(POLAR_MAX_DEPTH):
            hit = [i for i, (f, c, h) in enumerate(leaves)
                   if f == face and np.all(np.abs(xi - c) <= h) and h > width]
            if not hit:
                break
            for i in sorted(hit, reverse=True):
                leaf = leaves.pop(i)
                leaves.extend(self._children(leaf))
        return leaves

    def _children(self, leaf):
        f, c, h = leaf
        d = c.size
        out = []
        for corner in np.array(np.meshgrid(*([[-0.5, 0.5]] * d), indexing="ij")).reshape(d, -1).T:
            out.append((f, c + corner * h, h / 2))
        return out

    def _cell_values(self, cells, V, responses=None, pinned=None):
        """ln scale and moment vector of each cell, evaluated in chunks per face."""
        scale = np.empty(len(cells))
        vec = None
        by_face: dict[int, list[int]] = {}
        for i, (f, _, _) in enumerate(cells):
            by_face.setdefault(f, []).append(i)
        per = POLAR_CELL_NODES ** (self.m - 1)
        chunk = max(1, 4096 // per)
        for f, idx in by_face.items():
            for start in range(0, len(idx), chunk):
                part = idx[start:start + chunk]
                centre = np.array([cells[i][1] for i in part]).reshape(len(part), -1)
                half = np.array([cells[i][2] for i in part], dtype=float)
                s, v = self._evaluate(f, centre, half, V, responses, pinned)
                if vec is None:
                    vec = np.empty((len(cells), v.shape[1]))
                scale[part], vec[part] = s, v
        return scale, vec

    def _norms(self, total):
        """Per entry of the moment vector, the scale its error is measured against:
        Z for Z itself, Z·max(|moment|, 1) for the moments (the grid's measure)."""
        Z = total[0]
        return Z * np.maximum(np.abs(total / Z), 1.0)

    def _result(self, leaves, values, errors, V, pinned=None):
        scale0 = float(np.max(values[0]))
        total = np.exp(values[0] - scale0) @ values[1]
        Z = total[0]
        lnZ = scale0 + np.log(Z) - 0.5 * self.m * np.log(2 * np.pi * self.s2)
        mom = total / Z
        G, m = V.shape
        # the layout of _moments: Z, A, ⟨ψ⟩, cross, own, hh, h2
        sizes = [1, m * m, G * m, G * m * G * m, G * m * m, G * G, G]
        cuts = np.cumsum(sizes)
        _, A, mean, cross, own, hh, h2 = np.split(mom[:cuts[-1]], cuts[:-1])
        extra = {} if mom.size == cuts[-1] else {"response_s": float(mom[cuts[-1]]),
                                                 "response_s2": float(mom[cuts[-1] + 1])}
        return {**extra, "lnZ": float(lnZ), "A": A.reshape(m, m), "mean": mean.reshape(G, m),
                "cross": cross.reshape(G, m, G, m), "own": own.reshape(G, m, m),
                "hh": hh.reshape(G, G), "h2": h2,
                "error": float(np.sum(errors[np.isfinite(errors)])),
                "size": int(len(leaves) * POLAR_CELL_NODES ** (m - 1)),
                "sample": lambda rng, size: self._sample(leaves, V, rng, size, pinned)}

    def _sample(self, leaves, V, rng, size: int, pinned=None) -> np.ndarray:
        """Readouts a drawn from the cubature's nodes on ``leaves`` at V: a direction node
        by its weight (solid angle × radial integral), then a radial node by its weight on
        that ray."""
        by_face: dict[int, list[int]] = {}
        for i, (f, _, _) in enumerate(leaves):
            by_face.setdefault(f, []).append(i)
        U_all, lw_all = [], []
        for f, idx in by_face.items():
            centre = np.array([leaves[i][1] for i in idx]).reshape(len(idx), -1)
            half = np.array([leaves[i][2] for i in idx], dtype=float)
            U, w = self._cell_nodes(self._faces()[f], centre, half)
            lnZ, _, _ = self._rays(U, V, pinned=pinned)
            U_all.append(U)
            lw_all.append(lnZ + np.log(w))
        U = np.concatenate(U_all)
        lw = np.concatenate(lw_all)
        p = np.exp(lw - logsumexp(lw))
        pick = rng.choice(U.shape[0], size=size, p=p)
        dirs, inverse = np.unique(pick, return_inverse=True)
        _, _, (r, w) = self._rays(U[dirs], V, pinned=pinned)
        cdf = np.cumsum(w, axis=1)
        u = rng.random(size)
        k = np.minimum((cdf[inverse] < u[:, None]).sum(axis=1), r.shape[1] - 1)
        return U[pick] * r[inverse, k][:, None]


class RadialCoordinates:
    r"""Coordinates for Newton near the normalisability boundary:

    .. math:: v_g = \frac{w_g}{\sqrt{1 + |w_g|^2/\rho_g^2}},\qquad
              \rho_g = \big(\sigma_a^2 n_g \kappa_g \max(c_+^2, c_-^2)\big)^{-1/2},

    so |v_g| < ρ_g — the norm beyond which group g alone (along ±v̂_g) makes p_v not
    normalisable — for every w, and the single-class needle's margin
    1 − |v_g|²/ρ_g² = 1/(1 + |w_g|²/ρ_g²) falls algebraically in |w_g| instead of within a
    distance ~q of the boundary. Smooth (a function of |w|²), the identity near 0."""

    def __init__(self, n, kappa, s2: float, slopes):
        self.rho = 1.0 / np.sqrt(s2 * np.asarray(n) * np.asarray(kappa)
                                 * max(slopes[0] ** 2, slopes[1] ** 2))

    def _s(self, X):
        return np.sum(X * X, axis=1) / self.rho**2

    def to_w(self, V: np.ndarray) -> np.ndarray:
        s = self._s(V)
        if np.any(s >= 1):
            raise ConvergenceError("a row of v reaches its group's normalisability bound")
        return V / np.sqrt(1 - s)[:, None]

    def to_v(self, W: np.ndarray) -> np.ndarray:
        return W / np.sqrt(1 + self._s(W))[:, None]

    def newton_system(self, W, grad_v, H_v):
        """∇_w F and the Hessian in w: JᵀH_vJ plus Σ_i ∂_{v_i}F ∂²v_i/∂w∂w (per group)."""
        G, m = W.shape
        s = self._s(W)
        f = (1 + s) ** -0.5
        f1 = -0.5 * (1 + s) ** -1.5
        f2 = 0.75 * (1 + s) ** -2.5
        J = np.zeros((G * m, G * m))
        M = np.zeros((G * m, G * m))
        for g in range(G):
            w, d = W[g], grad_v[g]
            block = slice(g * m, (g + 1) * m)
            r2 = self.rho[g] ** 2
            J[block, block] = f[g] * np.eye(m) + 2 * f1[g] / r2 * np.outer(w, w)
            M[block, block] = (2 * f1[g] / r2 * (np.outer(d, w) + np.outer(w, d)
                                                 + (d @ w) * np.eye(m))
                               + 4 * f2[g] / r2**2 * (d @ w) * np.outer(w, w))
        return (J @ grad_v.ravel()).reshape(G, m), J @ H_v @ J + M
