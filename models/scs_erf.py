"""The SCS random rate network with φ(x) = erf(√π x / 2) (closed-form Gaussian kernels)."""

from fieldtheory.models.scs import declare

import fieldtheory as ft

model = declare("scs_erf", ft.erf_sqrtpi, "random rate network, φ = erf(√π x/2)")
