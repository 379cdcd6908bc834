"""Recurrent network on a data set, read out at time t = depth (arXiv:2112.05589).

As ``deep``, but one weight matrix W and one bias b shared by all steps l ≥ 2 (the input
enters at step 1 only, through U and b¹): the equal-time kernels equal the deep network's,
the two-time kernel K(s, t) and the 1/N corrections differ. φ = erf(√π x/2).
"""

from fieldtheory.models.deep import declare

model = declare(shared=True, name="recurrent")
