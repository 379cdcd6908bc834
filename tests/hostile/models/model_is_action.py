"""Hostile: ``model`` is an Action, not a Model."""

import fieldtheory as ft

x = ft.Field("x")
model = ft.langevin(drift={x: -x(ft.t)})
