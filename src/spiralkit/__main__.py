"""``python -m spiralkit`` runs the ``spiral`` CLI."""

import sys

from spiralkit.cli import main

sys.exit(main())
