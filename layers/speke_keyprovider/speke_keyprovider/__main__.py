"""``python -m speke_keyprovider``: the operator command line (see ``speke_keyprovider.cli``)."""

from .cli import main

raise SystemExit(main())
