"""``python -m textbones``: the same as the ``textbones`` command."""

import sys

from textbones.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
