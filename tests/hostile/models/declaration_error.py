"""Hostile: a named declaration error while building the model (line 7: noise given
twice)."""

import fieldtheory as ft

x, y = ft.Field("x"), ft.Field("y")
action = ft.langevin(drift={x: -x(ft.t), y: -y(ft.t)}, noise={(x, y): 1, (y, x): 1})
model = ft.Model("twice", action)
