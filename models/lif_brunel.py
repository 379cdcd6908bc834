"""Brunel's sparse network of LIF neurons, model A (identical E and I neurons, delta synapses).

N. Brunel, *Dynamics of sparsely connected networks of excitatory and inhibitory spiking
neurons*, J. Comput. Neurosci. 8, 183 (2000). N_E excitatory and N_I = γ N_E inhibitory
neurons; every neuron receives C_E = ε N_E excitatory synapses of weight J and C_I = ε N_I
inhibitory ones of weight −gJ (fixed in-degree), delay D, and C_E external Poisson inputs of
rate ν_ext = η ν_thr, ν_thr = θ/(J C_E τ): the rate that brings the mean input to threshold
without recurrence. ``g`` and ``eta`` are Brunel's own names (model-specific, as are
``epsilon``, ``gamma``, ``D``, ``theta``, ``V_r``, ``tau_rp``). g = 5, η = 2: the
asynchronous irregular state.
"""

import fieldtheory as ft

p = ft.parameters(
    N_E=(10000.0, "positive", "number of excitatory neurons"),
    gamma=(0.25, "positive", "N_I/N_E (Brunel's γ)"),
    epsilon=(0.1, (0.0, 1.0), "connection probability: in-degrees C = ε N"),
    J=(0.1, "positive", "excitatory PSP amplitude (mV)"),
    g=(5.0, "nonnegative", "relative strength of inhibition (Brunel's g)"),
    eta=(2.0, "nonnegative", "external rate over threshold rate ν_ext/ν_thr (Brunel's η)"),
    D=(1.5, "positive", "synaptic delay (ms)"),
    tau=(20.0, "positive", "membrane time constant (ms)"),
    theta=(20.0, "positive", "threshold (mV)"),
    V_r=(10.0, "nonnegative", "reset potential (mV)"),
    tau_rp=(2.0, "nonnegative", "refractory period (ms)"),
)
neuron = ft.LIF(tau_m=p.tau, V_th=p.theta, V_reset=p.V_r, t_ref=p.tau_rp)
C_E, C_I = p.epsilon * p.N_E, p.epsilon * p.gamma * p.N_E
nu_thr = 1000 * p.theta / (p.J * C_E * p.tau)  # Hz
network = ft.spiking_network(
    [ft.SpikingPopulation("E", p.N_E, neuron),
     ft.SpikingPopulation("I", p.gamma * p.N_E, neuron)],
    [ft.Connection(t, "E", ft.FixedInDegree(C_E), p.J, delay=p.D) for t in ("E", "I")]
    + [ft.Connection(t, "I", ft.FixedInDegree(C_I), -p.g * p.J, delay=p.D)
       for t in ("E", "I")],
    [ft.PoissonDrive(t, p.eta * nu_thr, C_E, p.J) for t in ("E", "I")],
    parameters=p)
model = ft.Model("lif_brunel", network,
                 "Brunel's sparse E/I network of LIF neurons, model A (g = 5, η = 2: AI state)",
                 "Brunel, J. Comput. Neurosci. 8, 183 (2000); arXiv:1909.01908")
