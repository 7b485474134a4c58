"""``python -m vidu_nb.cli`` is the same as the ``vidu-nb`` command."""

import sys

from . import main

sys.exit(main())
