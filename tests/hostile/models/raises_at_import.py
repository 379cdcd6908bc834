"""Hostile: an exception at import, on line 7."""

import fieldtheory as ft

x = ft.Field("x")
scale = 0
gain = 1 / scale
model = ft.Model("raises", ft.langevin(drift={x: -gain * x(ft.t)}))
