"""``python -m bot.triage FILE [--out OUT]``: see :mod:`bot.triage.cli`."""

import sys

from bot.triage.cli import main

sys.exit(main())
