"""``python -m speke_keyprovider_tools``: the operator command line (see ``speke_keyprovider_tools.cli``)."""

from .cli import main

raise SystemExit(main())
