"""Deep feedforward network on a data set, as a Gaussian process (arXiv:2112.05589).

Segadlo, Epping, van Meegen, Dahmen, Krämer & Helias, *Unified field theoretical approach to
deep and recurrent neuronal networks*, J. Stat. Mech. (2022). Inputs x_a ∈ R^d, a = 1 … P;

    h¹ = U x + b¹,            U_ij ~ N(0, σ_u²/d), b¹_i ~ N(0, σ_b²),
    h^l = W^l φ(h^{l−1}) + b^l (l = 2 … depth),  W^l_ij ~ N(0, σ_w²/N), b^l_i ~ N(0, σ_b²),

with independent (W^l, b^l) for every layer (``recurrent``: one shared (W, b) for all l ≥ 2)
and φ = erf(√π x/2) (``deep_relu``: ReLU). A bias is a coupling acting on the constant 1,
b_i = Σ_j B_ij with B_ij ~ N(0, σ_b²/N). As N → ∞ the pre-activations are a Gaussian
process over patterns with the layer kernels K^l (the NNGP kernel).
"""

import numpy as np

import fieldtheory as ft

#: The default data set: P = 4 patterns in d = 3 dimensions (replace with --inputs FILE).
DEFAULT_INPUTS = np.array([[1.0, 0.0, 0.0],
                           [0.6, 0.8, 0.0],
                           [0.0, -0.5, 1.2],
                           [-0.7, 0.3, 0.4]])


def declare(*, shared: bool = False, phi=ft.erf_sqrtpi, name: str = "deep",
            inputs=DEFAULT_INPUTS) -> ft.Model:
    """A deep (``shared=False``) or recurrent (``shared=True``) network on ``inputs``
    (P × d), with nonlinearity ``phi``."""
    p = ft.parameters(
        sigma_u=(1.0, "positive", "input-weight scale: U_ij ~ N(0, σ_u²/d)"),
        sigma_w=(1.5, "positive", "weight scale: W_ij ~ N(0, σ_w²/N)"),
        sigma_b=(0.5, "nonnegative", "bias scale: b_i ~ N(0, σ_b²)"),
        depth=(3, "positive_integer", "number of layers (time steps of the recurrent net)"),
    )
    sigma_u, sigma_w, sigma_b, depth = p.symbols
    h, n = ft.Field("h"), ft.n
    W, B, U, B1 = ft.Coupling("W"), ft.Coupling("B"), ft.Coupling("U"), ft.Coupling("B1")
    X = ft.Inputs("X", inputs)
    weights, biases = ft.Gaussian(variance=sigma_w**2), ft.Gaussian(variance=sigma_b**2)
    if not shared:  # deep: drawn anew for every layer
        weights, biases = ft.PerLayer(weights), ft.PerLayer(biases)
    action = ft.layered(
        update={h: W @ phi(h(n)) + B @ 1},
        first={h: U @ X(n) + B1 @ 1},
        couplings={W: weights, B: biases, U: ft.InputWeights(sigma_u**2),
                   B1: ft.Gaussian(variance=sigma_b**2)},
        parameters=p, inputs=X, depth=depth)
    kind = "recurrent (shared weights)" if shared else "deep feedforward"
    return ft.Model(name, action, f"{kind} network on a data set, φ = {phi.__name__}",
                    "Segadlo et al., arXiv:2112.05589")


model = declare()
