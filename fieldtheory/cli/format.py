"""The readable (non-JSON) table of a result that ``solve`` and ``simulate`` print."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["format_result"]


def format_result(data: Mapping[str, Any], rows: int = 6) -> str:
    """A readable table of a result's ``to_json()``: scalars, then a few rows of each curve."""
    params = ", ".join(f"{k} = {v:g}" for k, v in data["params"].items())
    lines = [f"model {data['model']}, N = {data['N']}" + (f", {params}" if params else "")]
    lines += _format_observables(data["observables"], data.get("stderr") or {}, "", rows)
    return "\n".join(lines)


def _format_observables(obs: Mapping[str, Any], err: Mapping[str, Any], prefix: str,
                        rows: int) -> list[str]:
    lines: list[str] = []
    scalars = {k: v for k, v in obs.items() if isinstance(v, int | float)}
    # small dicts of named numbers (dimension {pr_x, pr_phi}, …) as scalars name.key
    for name, value in obs.items():
        if _named_numbers(name, value):
            scalars.update({f"{name}.{k}": v for k, v in value.items()})
            err = {**err, **{f"{name}.{k}": v for k, v in (err.get(name) or {}).items()}}
    if scalars:
        lines.append(f"{prefix}{'observable':<22}{'value':>12}  {'stderr':>10}")
    for name, value in scalars.items():
        lines.append(f"{prefix}{name:<22}{value:>12.6g}  {_error(err.get(name)):>10}")
    for name, value in obs.items():
        if name == "populations" and isinstance(value, Mapping):
            for population, sub in value.items():
                lines.append(f"{prefix}population {population}:")
                lines += _format_observables(sub, _sub(err, name, population), prefix + "  ",
                                             rows)
        elif isinstance(value, Mapping) and not _named_numbers(name, value):
            lines += _format_curve(name, value, err.get(name) or {}, prefix, rows)
    return lines


def _format_curve(name: str, curve: Mapping[str, Any], err: Mapping[str, Any], prefix: str,
                  rows: int) -> list[str]:
    """A few evenly spaced rows of a curve {grid: [...], values: [...]}."""
    keys = [k for k in curve if k != "values"]
    if "values" not in curve or len(keys) != 1:
        return [f"{prefix}{name}: {curve}"]
    grid, values, errors = curve[keys[0]], curve["values"], err.get("values")
    if not values:
        return []
    if isinstance(values[0], list):  # an array per grid point (layer kernels)
        return _format_arrays(name, keys[0], grid, values, errors, prefix)
    picks = sorted({round(k * (len(values) - 1) / max(rows - 1, 1)) for k in range(rows)})
    lines = [f"{prefix}{name}:", f"{prefix}  {keys[0]:>10}{'value':>14}  {'stderr':>10}"]
    for k in picks:
        e = errors[k] if isinstance(errors, Sequence) and k < len(errors) else None
        lines.append(f"{prefix}  {grid[k]:>10.4g}{values[k]:>14.6g}  {_error(e):>10}")
    return lines


def _format_arrays(name, axis, grid, values, errors, prefix) -> list[str]:
    """One matrix per grid point (kernels K[a][b] per layer; K(s, t) per pair of layers),
    with the standard errors where there are any."""
    import numpy as np

    lines = [f"{prefix}{name}:"]
    for k, point in enumerate(grid):
        text = np.array2string(np.array(values[k]), precision=5, suppress_small=True)
        lines.append(f"{prefix}  {axis} {point:g}:")
        lines += [f"{prefix}    {row}" for row in text.splitlines()]
        if isinstance(errors, Sequence) and k < len(errors):
            text = np.array2string(np.array(errors[k]), precision=2)
            lines += [f"{prefix}    ± {row}" for row in text.splitlines()]
    return lines


def _named_numbers(name: str, value: Any) -> bool:
    """A small dict of named numbers ({pr_x, pr_phi}, {x, phi}), not a curve."""
    return (isinstance(value, Mapping) and name != "populations" and "values" not in value
            and bool(value) and all(isinstance(v, int | float) for v in value.values()))


def _sub(err: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        err = err.get(key) if isinstance(err, Mapping) else None
    return err if isinstance(err, Mapping) else {}


def _error(value: Any) -> str:
    if isinstance(value, int | float) and math.isfinite(value):
        return f"{value:.2g}"
    return "-"


def format_posterior(data: Mapping[str, Any], rows: int = 6) -> str:
    """A readable summary of a Bayesian model's result (theory or sampler): the readout
    second moment, the posterior kernel's first rows, predictions and codes."""
    params = ", ".join(f"{k} = {v:g}" for k, v in data["params"].items())
    obs, err = data["observables"], data.get("stderr") or {}
    lines = [f"model {data['model']}, N = {data['N']} ({data['method']}), {params}"]

    def matrix(name, value, error):
        if isinstance(value, Mapping):  # offloaded to --output
            lines.append(f"{name}: {value['shape']} in {value['file']} [{value['key']}]")
            return
        if isinstance(error, Mapping):
            error = None
        lines.append(f"{name}:" + ("  (± stderr)" if error is not None else ""))
        for i, row in enumerate(value[:rows]):
            cells = "  ".join(f"{v:9.4g}" for v in row[:rows])
            if error is not None:
                cells += "   ± " + "  ".join(f"{e:.2g}" for e in error[i][:rows])
            lines.append(f"  {cells}")
        if len(value) > rows:
            lines.append(f"  … {len(value)} rows")

    matrix("readout_second_moment", obs["readout_second_moment"],
           err.get("readout_second_moment"))
    matrix("kernel_posterior", obs["kernel_posterior"], err.get("kernel_posterior"))
    if "prediction" in obs:
        for key in ("mean", "variance"):
            if key not in obs["prediction"]:
                lines.append(f"prediction.{key}: not derived — "
                             f"{(data.get('info') or {}).get('prediction', '')}")
                continue
            matrix(f"prediction.{key}", obs["prediction"][key],
                   (err.get("prediction") or {}).get(key))
    if "codes" in obs:
        lines.append(f"scheme: {obs['scheme']}")
        if "coding_participation" in obs:
            rho_err = err.get("coding_participation")
            extra = f" ± {rho_err:.2g}" if rho_err else ""
            lines.append(f"coding participation (E s)²/E s²: "
                         f"{obs['coding_participation']:.4g}{extra}")
        fractions_err = (err.get("codes") or {}).get("fractions")
        for k, (pattern, fraction) in enumerate(zip(obs["codes"]["patterns"],
                                                    obs["codes"]["fractions"], strict=True)):
            if k == rows:
                lines.append(f"  … {len(obs['codes']['patterns'])} codes")
                break
            extra = f" ± {fractions_err[k]:.2g}" if fractions_err else ""
            lines.append(f"  code {pattern}: {fraction:.4f}{extra}")
    return "\n".join(lines)
