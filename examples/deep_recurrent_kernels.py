"""Deep and recurrent networks: equal kernels, different time structure and 1/N terms.

Segadlo, Epping, van Meegen, Dahmen, Krämer & Helias (arXiv:2112.05589): a deep network
(independent weights per layer) and a recurrent one (one weight matrix, read out at time
t = l) have the same equal-time kernel K^l at every layer as N → ∞ — so GP inference
predicts identically — while the recurrent network has a two-time kernel K(s, t) and its
finite-width fluctuations differ from layer 3 on. For inputs on a circle,
x(θ) = (cos θ, sin θ), this prints the kernel K^l(θ) against the angle for both
architectures (derived and solved by fieldtheory), the recurrent K(s, t), the GP
predictions of both on a small regression task, and N·Var of the empirical kernel from the
Gaussian fluctuations against sampled networks of both kinds. Writes the figure
``deep_recurrent_kernels.png`` when matplotlib is installed.

Run alone: ``python examples/deep_recurrent_kernels.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fieldtheory as ft
from fieldtheory.gp import predict
from fieldtheory.ir.layered import with_inputs

DEPTH = 4


def circle(angles: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few angles, few draws")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    angles = np.linspace(0, np.pi, 7 if args.quick else 37)
    X = circle(angles)
    kernels = {}
    for name in ("deep", "recurrent"):
        result = ft.solve(with_inputs(ft.load_model(name), X), {"depth": DEPTH})
        kernels[name] = result.observables
    deep = np.array(kernels["deep"]["kernel"]["values"])
    recurrent = np.array(kernels["recurrent"]["kernel"]["values"])
    print(f"kernel K^l(θ) = K^l(x(0), x(θ)), φ = erf, depth {DEPTH} (deep = recurrent: "
          f"max difference {np.max(np.abs(deep - recurrent)):.1e})")
    print(f"{'θ':>6}" + "".join(f"{'l=' + str(layer):>10}" for layer in range(1, DEPTH + 1)))
    for k, theta in enumerate(angles):
        print(f"{theta:6.3f}" + "".join(f"{deep[layer, 0, k]:10.5f}"
                                        for layer in range(DEPTH)))
    cross = np.array(kernels["recurrent"]["kernel_cross"]["values"])
    print("recurrent two-time kernel K(s, t) at θ = 0 (same input):")
    for s in range(DEPTH):
        print("  " + "".join(f"{cross[s, t, 0, 0]:10.5f}" for t in range(DEPTH)))

    # GP regression of y = sin(3θ) from a few angles: identical for both architectures
    train = np.linspace(0, np.pi, 6)
    test = np.linspace(0.1, 3.0, 5)
    y = np.sin(3 * train)[:, None]
    means = [predict(name, circle(train), y, circle(test), noise=1e-3,
                     params={"depth": DEPTH}).mean[:, 0] for name in ("deep", "recurrent")]
    print(f"GP posterior means (deep, recurrent) differ by at most "
          f"{np.max(np.abs(means[0] - means[1])):.1e}: {np.round(means[0], 4)}")

    # 1/N: N·Var of the empirical kernel, theory against sampled networks (two inputs)
    two = circle(np.array([0.0, 1.0]))
    draws, width = (600, 64) if args.quick else (4000, 128)
    print(f"N·Var K̂^l(x₁, x₂), theory (N → ∞) and sampled networks (N = {width}, "
          f"{draws} draws):")
    print(f"{'':>10}" + "".join(f"{'l=' + str(layer):>18}" for layer in range(1, 4)))
    variances = {}
    for name in ("deep", "recurrent"):
        model = with_inputs(ft.load_model(name), two)
        theory = np.array(ft.solve(model, {"depth": 3}, order="1/N")
                          .observables["kernel_correction"]["variance"])
        sim = ft.simulate(model, {"depth": 3}, N=width, trials=draws, seed=1)
        value = np.array(sim.observables["kernel_variance"]["values"])
        error = np.array(sim.stderr["kernel_variance"]["values"])
        variances[name] = theory
        print(f"{name:>10}" + "".join(f"{theory[layer, 0, 1]:8.4f} {value[layer, 0, 1]:6.3f}"
                                      f"±{error[layer, 0, 1]:.3f}" for layer in range(3)))
    print(f"recurrent − deep at layer 3 (theory): "
          f"{variances['recurrent'][2, 0, 1] - variances['deep'][2, 0, 1]:+.4f}")
    _figure(angles, deep, cross)
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def _figure(angles, deep, cross) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figure")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for layer in range(deep.shape[0]):
        left.plot(angles, deep[layer, 0], label=f"layer {layer + 1}")
    left.set_xlabel("θ")
    left.set_ylabel("K^l(x(0), x(θ))  (deep = recurrent)")
    left.legend()
    image = right.imshow(cross[:, :, 0, 0], origin="lower",
                         extent=(0.5, cross.shape[0] + 0.5, 0.5, cross.shape[0] + 0.5))
    right.set_xlabel("t")
    right.set_ylabel("s")
    right.set_title("recurrent K(s, t), same input")
    fig.colorbar(image, ax=right)
    fig.tight_layout()
    fig.savefig("deep_recurrent_kernels.png", dpi=120)
    print("wrote deep_recurrent_kernels.png")


if __name__ == "__main__":
    raise SystemExit(main())
