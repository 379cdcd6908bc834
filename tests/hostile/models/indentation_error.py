"""Hostile: an indentation error on line 5."""

import fieldtheory as ft

  x = ft.Field("x")
