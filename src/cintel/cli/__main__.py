"""``python -m cintel.cli``: the same as the ``cintel`` command."""

from cintel.cli import main

main()
