"""``python -m sk_plstm``: the ``sk-plstm`` command line (see :mod:`sk_plstm.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m sk_plstm"))
