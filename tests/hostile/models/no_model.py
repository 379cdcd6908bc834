"""Hostile: defines no ``model``."""

import fieldtheory as ft

x = ft.Field("x")
action = ft.langevin(drift={x: -x(ft.t)})
