"""A balanced E/I network of GLM neurons with an erf-shaped intensity (Bernoulli graph).

van Meegen & van Albada, *Microscopic theory of intrinsic timescales in spiking neural
networks*, Phys. Rev. Research 3, 043077 (2021), arXiv:1909.01908, Sec. IV (the GLM
network; parameters here are this model's own, chosen in the balanced,
fluctuation-driven regime). Each neuron filters its input with τ_m,
τ_m dV/dt = −V + τ_m Σ_j W_ij s_j(t − d), and spikes as a Poisson process of intensity

    F(V) = ν_max/2 · [1 + erf((V − θ)/(√2 Δ))]   (Hz).

Pairs are connected with probability p (in-degrees Binomial(N, p): static variability),
excitatory weights J, inhibitory −gJ; every neuron receives K_ext Poisson inputs of rate
ν_ext with weight J.
"""

import sympy as sp

import fieldtheory as ft

p = ft.parameters(
    N_E=(8000.0, "positive", "number of excitatory neurons"),
    gamma=(0.25, "positive", "N_I/N_E"),
    p_conn=(0.05, (0.0, 1.0), "connection probability"),
    J=(0.4, "positive", "excitatory weight (mV)"),
    g=(6.0, "nonnegative", "relative strength of inhibition"),
    nu_ext=(10.0, "nonnegative", "rate of each external input (Hz)"),
    K_ext=(400.0, "nonnegative", "external inputs per neuron"),
    D=(1.5, "positive", "synaptic delay (ms)"),
    tau=(10.0, "positive", "membrane time constant (ms)"),
    nu_max=(100.0, "positive", "maximal intensity (Hz)"),
    theta=(12.0, "real", "half-activation potential θ (mV)"),
    Delta=(3.0, "positive", "width Δ of the intensity (mV)"),
)
V = ft.Potential("V")
neuron = ft.GLM(tau_m=p.tau,
                intensity=p.nu_max / 2 * (1 + sp.erf((V - p.theta) / (sp.sqrt(2) * p.Delta))))
network = ft.spiking_network(
    [ft.SpikingPopulation("E", p.N_E, neuron),
     ft.SpikingPopulation("I", p.gamma * p.N_E, neuron)],
    [ft.Connection(t, "E", ft.Bernoulli(p.p_conn), p.J, delay=p.D) for t in ("E", "I")]
    + [ft.Connection(t, "I", ft.Bernoulli(p.p_conn), -p.g * p.J, delay=p.D)
       for t in ("E", "I")],
    [ft.PoissonDrive(t, p.nu_ext, p.K_ext, p.J) for t in ("E", "I")],
    parameters=p)
model = ft.Model("glm_balanced", network,
                 "balanced E/I network of GLM neurons, erf intensity, Bernoulli graph",
                 "van Meegen & van Albada, Phys. Rev. Research 3, 043077 (2021); "
                 "arXiv:1909.01908")
