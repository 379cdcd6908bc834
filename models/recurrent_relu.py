"""Recurrent network on a data set with φ = ReLU; see ``recurrent``."""

from fieldtheory.models.deep import declare

import fieldtheory as ft

model = declare(shared=True, phi=ft.relu, name="recurrent_relu")
