"""The SCS random rate network with φ(x) = erf(√π x / 2) (closed-form Gaussian kernels)."""

import fieldtheory as ft
from fieldtheory.models.scs import declare

model = declare("scs_erf", ft.erf_sqrtpi, "random rate network, φ = erf(√π x/2)")
