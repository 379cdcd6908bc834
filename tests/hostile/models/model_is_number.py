"""Hostile: ``model`` is a number."""

model = 3
