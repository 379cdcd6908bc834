"""Hostile: a syntax error on line 6."""

import fieldtheory as ft

x = ft.Field("x")
model = ft.Model("broken", ft.langevin(drift={x: -x(ft.t)})
