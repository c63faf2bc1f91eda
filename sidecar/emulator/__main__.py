"""``python -m sidecar.emulator``: the same as ``python -m sidecar emulator``."""

import sys

from .cli import main

sys.exit(main())
