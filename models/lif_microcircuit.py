"""The cortical microcircuit of Potjans & Diesmann (2014): 8 populations of LIF neurons.

T. C. Potjans & M. Diesmann, *The cell-type specific cortical microcircuit: relating
structure and activity in a full-scale spiking network model*, Cereb. Cortex 24, 785
(2014); the biologically constrained network of arXiv:1909.01908, Sec. V. Layers 2/3, 4,
5, 6, each with an excitatory (E) and an inhibitory (I) population under 1 mm² of
cortex (77,169 neurons). Its published connectivity rule: between source β and target α
a fixed total number of synapses

    n_αβ = ln(1 − C_αβ) / ln(1 − 1/(N_α N_β))   (multapses allowed),

C_αβ the connection probabilities (Table 5 of the paper); PSCs of amplitude w = 87.8 pA
(a PSP of 0.15 mV) with relative sd 0.1, inhibitory ones −g w (g = 4), the L4E → L2/3E
weight doubled; delays normal, 1.5 ± 0.75 ms (E), 0.75 ± 0.375 ms (I); exponential
synapses τ_s = 0.5 ms; K_ext Poisson inputs of 8 Hz with weight w. ``scale`` multiplies
every population and every synapse count, so in-degrees — and the mean-field theory — stay
those of the full network. The weights are entered as the equivalent jumps
J = w τ_s/C_m (mV; the PSP area τ_m J, the convention of ``ft.LIF``).
"""

import sympy as sp

import fieldtheory as ft

NAMES = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
K_EXT = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)
#: connection probabilities, rows targets, columns sources (Potjans & Diesmann, Table 5)
C = ((0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
     (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
     (0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0),
     (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
     (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
     (0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0),
     (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
     (0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443))

p = ft.parameters(
    scale=(1.0, (1e-4, 1.0), "fraction of the full network (in-degrees kept)"),
    w=(87.8, "positive", "excitatory PSC amplitude (pA)"),
    g=(4.0, "nonnegative", "relative strength of inhibition"),
    w_sd=(0.1, "nonnegative", "relative standard deviation of the weights"),
    nu_bg=(8.0, "nonnegative", "rate of each external Poisson input (Hz)"),
    tau_m=(10.0, "positive", "membrane time constant (ms)"),
    tau_s=(0.5, "positive", "synaptic time constant (ms)"),
    C_m=(250.0, "positive", "membrane capacitance (pF)"),
    t_ref=(2.0, "nonnegative", "refractory period (ms)"),
)
neuron = ft.LIF(tau_m=p.tau_m, V_th=-50, V_reset=-65, t_ref=p.t_ref, E_L=-65,
                tau_s=p.tau_s, C_m=p.C_m)
J = p.w * p.tau_s / p.C_m  # mV: the jump of equal PSP area
populations = [ft.SpikingPopulation(name, sp.floor(p.scale * size + sp.Rational(1, 2)), neuron)
               for name, size in zip(NAMES, SIZES, strict=True)]
connections = []
for a, target in enumerate(NAMES):
    for b, source in enumerate(NAMES):
        if C[a][b] == 0:
            continue
        total = sp.log(1 - sp.Float(C[a][b])) / sp.log(1 - sp.Integer(1) / (SIZES[a] * SIZES[b]))
        # the synapse count scales with the sizes, so in-degrees stay those of scale 1
        weight = J * (2 if (target, source) == ("L23E", "L4E") else 1)
        if source.endswith("I"):
            weight = -p.g * J
        delay, delay_sd = ((1.5, 0.75) if source.endswith("E") else (0.75, 0.375))
        connections.append(ft.Connection(
            target, source, ft.FixedTotalNumber(sp.floor(p.scale * total + sp.Rational(1, 2))),
            weight,
            weight_sd=p.w_sd * sp.Abs(weight), delay=delay, delay_sd=delay_sd))
drives = [ft.PoissonDrive(name, p.nu_bg, k, J) for name, k in zip(NAMES, K_EXT, strict=True)]
network = ft.spiking_network(populations, connections, drives, parameters=p)
model = ft.Model("lif_microcircuit", network,
                 "Potjans & Diesmann's cortical microcircuit: 8 LIF populations, 77,169 "
                 "neurons (scale to shrink it, in-degrees kept)",
                 "Potjans & Diesmann, Cereb. Cortex 24, 785 (2014); arXiv:1909.01908")
