r"""The multi-area workflow (issue 19): down-scaled models, a cache of verified results
keyed by content hash, and the figures of ``fieldtheory verify MODEL --figures DIR``.

* :func:`scaled_model` — an area-graph model shrunk with the multi-area model's
  input-preserving compensation (:func:`~fieldtheory.ir.area_graph.downscale`) at
  given parameter values: sizes × ``n_scale``, in-degrees × ``k_scale``, weights
  × √(K/K′), the lost mean input as a shift of E_L computed from the *full* network's
  mean-field rates. Its mean-field rates are the full network's.
* :func:`content_hash` — SHA-256 of the network at numbers (every population, block and
  drive after the parameters are resolved: so of the tables and the parameters), of the
  run's settings and of the package version.
* :func:`verify_cached` — :func:`~fieldtheory.spiking_verify.verify_spiking` whose
  result is stored in ``DIR/verify-<hash>.json`` and read back when the same content is
  verified again (no simulation then).
* :func:`plot_rates`, :func:`plot_connectivity` (the ``plot`` extra) — per-population
  rates, theory against simulation, and the matrix of mean inputs K_αβ E[w_αβ] (mV per
  source spike, summed over a target's in-degree) with the areas marked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from fieldtheory.errors import OutputPathError, ParameterError
from fieldtheory.ir.model import Model, load_model
from fieldtheory.ir.spiking_values import NetworkValues

__all__ = ["connectivity_matrix", "content_hash", "plot_connectivity",
           "plot_rates", "scaled_model", "verify_cached"]


def scaled_model(model, params: Mapping[str, float] | None = None, *, n_scale: float = 1.0,
                 k_scale: float = 1.0) -> Model:
    """The area-graph ``model`` at ``params``, down-scaled (sizes × n_scale, in-degrees ×
    k_scale) with the input-preserving compensation; its parameters stay declared (their
    values are already in the numbers) so the same ``params`` are accepted."""
    from fieldtheory.ir.area_graph import AreaGraphSource, downscale, graph_network, numeric_graph
    from fieldtheory.spiking_solve import solve_spiking

    loaded = load_model(model)
    network = loaded.action
    if not isinstance(getattr(network, "source", None), AreaGraphSource):
        raise ParameterError(f"{loaded.name} is not an area-graph model: down-scaling "
                             "(n_scale, k_scale) applies to networks built by "
                             "ft.graph_network")
    for name, value in (("n_scale", n_scale), ("k_scale", k_scale)):
        if not 0 < value <= 1:
            raise ParameterError(f"{name} = {value:g} must lie in (0, 1]")
    params = dict(params or {})
    full = solve_spiking(loaded, params).observables["populations"]
    small = downscale(numeric_graph(network, params),
                      {key: pop["rate"] for key, pop in full.items()},
                      N_scale=n_scale, K_scale=k_scale)
    scaled = graph_network(small, network.parameters)
    return Model(loaded.name, scaled,
                 f"{loaded.description} — down-scaled: N × {n_scale:g}, K × {k_scale:g} "
                 "(weights × √(K/K′), lost mean input as an E_L shift)", loaded.reference)


def content_hash(values: NetworkValues, settings: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the network at numbers, the run's settings and the version."""
    from fieldtheory import __version__

    def canonical(obj):
        if isinstance(obj, float):
            return repr(obj)
        if isinstance(obj, Mapping):
            return {str(k): canonical(v) for k, v in sorted(obj.items(), key=str)}
        if isinstance(obj, list | tuple):
            return [canonical(v) for v in obj]
        if callable(obj):  # a GLM's intensity: its text is hashed beside it
            return None
        return obj

    text = json.dumps(canonical({"network": asdict(values), "settings": dict(settings),
                                 "version": __version__}), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def verify_cached(model, params: Mapping[str, float] | None, directory: str | Path, *,
                  settings: Mapping[str, Any], theory_params=None, progress: bool = False):
    """``verify_spiking(model, params, **settings)`` stored under ``directory`` by content
    hash: (report, theory JSON, simulation JSON, path, cached). A stored result of the
    same network at numbers, settings and version is read back instead of simulating."""
    from fieldtheory.spiking_verify import verify_spiking
    from fieldtheory.verify import Comparison, Report

    loaded = load_model(model)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputPathError(f"--figures {directory}: not a directory")
    theory_params = theory_params if theory_params is not None else params
    values = loaded.action.values(params, N=settings.get("N"))
    key = content_hash(values, {**settings, "theory_params":
                                loaded.action.resolve(theory_params)})
    path = directory / f"verify-{key[:16]}.json"
    try:
        stored = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        stored = {}  # unreadable: computed again and overwritten
    if isinstance(stored, dict) and stored.get("hash") == key:
        report = Report(tuple(Comparison(c["observable"], c["at"], c["theory"],
                                         c["simulation"], c["stderr"])
                              for c in stored["report"]["comparisons"]),
                        stored["report"]["threshold"])
        return report, stored["theory"], stored["simulation"], path, True
    report, theory, simulation = verify_spiking(loaded, params, theory_params=theory_params,
                                                progress=progress, **settings)
    from fieldtheory.jsonout import dumps

    data = {"hash": key, "model": loaded.name, "report": report.to_json(),
            "theory": theory.to_json(), "simulation": simulation.to_json()}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(data))
    except OSError as error:
        raise OutputPathError(f"--figures {directory}: cannot write {path.name} "
                              f"({error.strerror or error})") from None
    stored = json.loads(path.read_text())
    return report, stored["theory"], stored["simulation"], path, False


def _areas(names) -> list[tuple[str, int, int]]:
    """(area, first, stop) runs of population keys AREA/POP (one area: the model)."""
    runs: list[tuple[str, int, int]] = []
    for k, name in enumerate(names):
        area = name.split("/")[0] if "/" in name else ""
        if runs and runs[-1][0] == area:
            runs[-1] = (area, runs[-1][1], k + 1)
        else:
            runs.append((area, k, k + 1))
    return runs


def plot_rates(theory: Mapping[str, Any], simulation: Mapping[str, Any], path) -> None:
    """Per-population rates: the mean-field theory (circles) against the simulation
    (error bars: its standard error), populations in model order with the areas marked;
    beside it, simulation against theory on log axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(theory["observables"]["populations"])
    th = np.array([theory["observables"]["populations"][n]["rate"] for n in names])
    sim = np.array([simulation["observables"]["populations"][n]["rate"] for n in names])
    err = np.array([(simulation["stderr"]["populations"].get(n) or {}).get("rate") or 0.0
                    for n in names])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(max(8.0, 0.25 * len(names) + 4), 4),
                                  gridspec_kw={"width_ratios": [3, 1]})
    x = np.arange(len(names))
    ax.plot(x, th, "o", mfc="none", label="mean-field theory")
    ax.errorbar(x, sim, yerr=err, fmt=".", label=f"simulation ({simulation['method']})")
    for k, (area, start, stop) in enumerate(_areas(names)):
        if area:
            ax.axvspan(start - 0.5, stop - 0.5, color="0.9" if k % 2 else "0.97", zorder=0)
            ax.text((start + stop - 1) / 2, 1.0, area, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [n.split("/")[-1] for n in names], rotation=90, fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize=7)
    positive = (th > 0) & (sim > 0)
    ax2.errorbar(th[positive], sim[positive], yerr=err[positive], fmt=".")
    lo, hi = (float(v) for v in (np.min(th[positive]) / 2, np.max(th[positive]) * 2)) \
        if positive.any() else (0.1, 100.0)
    ax2.plot([lo, hi], [lo, hi], "k:", lw=0.8)
    ax2.set(xscale="log", yscale="log", xlabel="theory (Hz)", ylabel="simulation (Hz)")
    fig.suptitle(f"{theory['model']}: stationary rates", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def connectivity_matrix(model, params: Mapping[str, float] | None = None) -> np.ndarray:
    """M[α, β] = E[K_αβ] E[w_αβ] (mV): the mean jump a target of α receives per spike of
    every source neuron of β together — the block structure of the mean input, read off
    the derived site (μ_α is affine in the rates with slope τ_m,α E[K]E[w]/1000 per Hz),
    so every connection rule and weight law counts as the derivation counts it."""
    from fieldtheory.derive import derive

    loaded = load_model(model)
    site = derive(loaded).site_problem().at(params)
    P = len(site.values.populations)
    slope = site.gradient(np.zeros(P))[0][:, :P]  # ∂μ_α/∂ν_β, mV per Hz
    tau_m = np.array([n.tau_m for n in site.values.neurons])
    return slope * 1000.0 / tau_m[:, None]


def plot_connectivity(model, params: Mapping[str, float] | None, path,
                      title: str = "") -> None:
    """The matrix :func:`connectivity_matrix` on a symmetric log colour scale (excitation
    red, inhibition blue), rows targets, columns sources, areas outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import SymLogNorm

    names = list(load_model(model).action.names)
    M = connectivity_matrix(model, params)
    scale = float(np.max(np.abs(M))) or 1.0
    fig, ax = plt.subplots(figsize=(max(5.0, 0.12 * len(names) + 3),) * 2)
    image = ax.imshow(M, cmap="RdBu_r", norm=SymLogNorm(linthresh=scale * 1e-3,
                                                        vmin=-scale, vmax=scale),
                      interpolation="nearest")
    for _, start, stop in _areas(names):
        ax.add_patch(plt.Rectangle((start - 0.5, start - 0.5), stop - start, stop - start,
                                   fill=False, lw=0.8))
    if len(names) <= 64:
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.set_yticks(range(len(names)), names, fontsize=6)
    ax.set(xlabel="source population", ylabel="target population")
    fig.colorbar(image, ax=ax, label="E[K] E[w] (mV)")
    ax.set_title(title or "mean input per source spike rate, by block", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
