"""``python -m cityimage`` runs the CLI, for environments without the console script on PATH."""

from cityimage.cli import main

main()
