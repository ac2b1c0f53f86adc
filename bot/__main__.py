"""``python -m bot`` is ``newsbot``."""

import sys

from bot.app.cli import main

sys.exit(main())
