"""Symbols of ensemble declarations: the mode index a = 1..M and the mode count M.

A leaf module (sympy only): the action's symbol checks import it without importing the
ensembles themselves.
"""

import sympy as sp

__all__ = ["MODE_COUNT", "MODE_INDEX", "MODE_POSITION"]

#: Mode index a = 1..M and number of modes M, the symbols of a random-mode spectrum.
MODE_INDEX = sp.Symbol("a", positive=True, integer=True)
MODE_COUNT = sp.Symbol("M", positive=True, integer=True)
#: The position u = a/M ∈ (0, 1) of a mode in the spectrum as M → ∞: the spectral shape is
#: s(u) (a resummed random-mode term averages over it, ⟨f(d)⟩ = ∫₀¹ f(c·s(u)) du).
MODE_POSITION = sp.Symbol("u", positive=True)
