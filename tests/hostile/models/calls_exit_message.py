"""Hostile: sys.exit with a message (line 5)."""

import sys

sys.exit("this model refuses to load")
