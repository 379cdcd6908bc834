"""Deep feedforward network on a data set with φ = ReLU (arc-cosine kernel); see ``deep``."""

from fieldtheory.models.deep import declare

import fieldtheory as ft

model = declare(phi=ft.relu, name="deep_relu")
