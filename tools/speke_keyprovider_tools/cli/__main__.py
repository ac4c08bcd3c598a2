"""``python -m speke_keyprovider_tools.cli``: the same command as ``speke-keyprovider``."""

from . import main

raise SystemExit(main())
