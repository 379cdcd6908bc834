"""Hostile: ``model`` is a shipped model's name, not a Model."""

model = "scs"
