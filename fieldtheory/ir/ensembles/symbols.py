"""Symbols of ensemble declarations: the mode index a = 1..M and the mode count M.

A leaf module (sympy only): the action's symbol checks import it without importing the
ensembles themselves.
"""

import sympy as sp

__all__ = ["MODE_COUNT", "MODE_INDEX"]

#: Mode index a = 1..M and number of modes M, the symbols of a random-mode spectrum.
MODE_INDEX = sp.Symbol("a", positive=True, integer=True)
MODE_COUNT = sp.Symbol("M", positive=True, integer=True)
