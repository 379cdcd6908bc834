"""Wide Bayesian network learning a classification task: linear hidden layer (issue 15).

van Meegen & Sompolinsky, *Coding schemes in neural networks learning classification
tasks*, Nat. Commun. 16, 3354 (2025), arXiv:2406.16689. One hidden layer of N neurons,

    h_i(x) = w_i·x/√d,  w_ij ~ N(0, σ_w²);   f_k(x) = N^(−γ) Σ_i a_ik φ(h_i(x)),  a_ik ~ N(0, σ_a²),

posterior ∝ exp(−(N/2T) Σ_μ ‖f(x_μ) − y_μ‖²) × prior (T = 0: zero training error). γ = 1 is
the mean-field (feature-learning) scaling, γ = ½ the lazy (kernel) one. The shipped data
set: P = 6 orthogonal patterns of three classes of sizes 3, 2, 1 (replace with --inputs and
--targets). ``bayes_erf`` and ``bayes_relu`` declare the same network with φ = erf, ReLU.
"""

import numpy as np

import fieldtheory as ft

#: The default data set: orthogonal inputs (d = 8), three classes of unequal sizes.
DEFAULT_INPUTS = np.sqrt(8.0) * np.eye(8)[:6]
DEFAULT_TARGETS = np.eye(3)[[0, 0, 0, 1, 1, 2]]


def declare(phi=None, *, name: str = "bayes_linear", inputs=DEFAULT_INPUTS,
            targets=DEFAULT_TARGETS) -> ft.Model:
    """The network with hidden nonlinearity ``phi`` (a sympy function; None: linear)."""
    p = ft.parameters(
        sigma_w=(1.0, "positive", "input weights w_ij ~ N(0, σ_w²), h = w·x/√d"),
        sigma_a=(1.0, "positive", "readout weights a_ik ~ N(0, σ_a²)"),
        gamma=(1.0, (0.5, 1.0), "readout scaling N^(−γ): 1 mean-field, 0.5 lazy"),
        T=(0.0, "nonnegative", "temperature, β = N/T (0: zero training error)"),
    )
    a, h = ft.Weight("a"), ft.Preactivation("h")
    readout = a * (h if phi is None else phi(h))
    posterior = ft.posterior(
        readout, {a: ft.Gaussian(variance=p.sigma_a**2), h: ft.InputWeights(p.sigma_w**2)},
        parameters=p, inputs=ft.Inputs("X", inputs), targets=ft.Targets("Y", targets),
        scaling=p.gamma, temperature=p.T)
    kind = "linear" if phi is None else f"φ = {phi.__name__}"
    return ft.Model(name, posterior, f"wide Bayesian network learning classification, {kind}",
                    "van Meegen & Sompolinsky, arXiv:2406.16689")


model = declare()
