"""The Rasa command with this project's extensions: ``python -m bot.rasa_ext run|shell|test ...``.

Same arguments as ``rasa``; the launcher, ``make shell`` and the test harness start the server
this way, so the extensions are installed explicitly (``RASA_EXTENSIONS=off`` runs plain Rasa).
"""

import logging
import sys

from rasa.__main__ import main

from bot import rasa_ext

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s  - %(message)s")
    rasa_ext.install()
    sys.argv = ["rasa", *sys.argv[1:]]
    main()
