"""``python -m emulator``: run the emulator of the sign-in service (``--help`` lists its options)."""

import sys

from .cli import main

sys.exit(main())
