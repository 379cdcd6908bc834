"""Hostile: a string key where a Field is expected (line 6)."""

import fieldtheory as ft

x = ft.Field("x")
model = ft.Model("string_key", ft.langevin(drift={"x": -x(ft.t)}))
