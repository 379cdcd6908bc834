"""Hostile: a mistyped ``ft.`` name on line 6 (langevn for langevin)."""

import fieldtheory as ft

x = ft.Field("x")
model = ft.Model("mistyped", ft.langevn(drift={x: -x(ft.t)}))
