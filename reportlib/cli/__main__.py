"""`python -m reportlib.cli`: the same as the `reportlib` command."""

import sys

from . import main

sys.exit(main())
