"""Hostile: the file ends the process with status 0 on line 5 (a success that is not)."""

import sys

sys.exit(0)
