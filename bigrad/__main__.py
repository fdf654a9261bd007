"""``python -m bigrad``: the ``bigrad`` command."""

from __future__ import annotations

import sys

from bigrad.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
