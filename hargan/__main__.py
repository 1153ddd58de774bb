"""``python -m hargan``: the same as the ``hargan`` command."""

import sys

from hargan.cli import main

sys.exit(main())
