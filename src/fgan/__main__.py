"""``python -m fgan`` runs the command line."""

import sys

from fgan.cli import main

sys.exit(main())
