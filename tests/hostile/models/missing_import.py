"""Hostile: imports a module that does not exist (line 4)."""

import fieldtheory as ft
import no_such_module_anywhere  # noqa: F401

model = ft.Model("missing", ft.langevin(drift={ft.Field("x"): 0}))
