"""``python -m npnet.bench``: see ``npnet/bench/__init__.py``."""
import sys

from .cli import main

sys.exit(main())
