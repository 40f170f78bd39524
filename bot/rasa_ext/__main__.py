"""The Rasa command with this project's extensions: ``python -m bot.rasa_ext run|shell|test ...``.

Same arguments as ``rasa``; the launcher, ``make shell`` and the test harness start the server
this way, so the extensions are installed explicitly (``RASA_EXTENSIONS=off`` runs plain Rasa).
"""

import logging
import os
import sys

# One thread per numerical library, set before numpy loads OpenBLAS (it reads these once): a server
# answers many conversations at once with small matrices, and BLAS / OpenMP worker threads that
# spin while waiting for a core took a second core from every parse that reached the sentence
# encoder, and the whole machine from two servers doing so at once. An operator's value wins.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from rasa.__main__ import main  # noqa: E402

from bot import rasa_ext  # noqa: E402

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s  - %(message)s")
    rasa_ext.install()
    sys.argv = ["rasa", *sys.argv[1:]]
    main()
