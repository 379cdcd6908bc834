"""Hostile: a name never defined (line 6)."""

import fieldtheory as ft

x = ft.Field("x")
model = ft.Model("undefined", ft.langevin(drift={x: -leak * x(ft.t)}))  # noqa: F821
