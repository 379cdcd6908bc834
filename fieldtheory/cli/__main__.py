"""``python -m fieldtheory.cli``."""

import sys

from fieldtheory.cli import main

sys.exit(main())
