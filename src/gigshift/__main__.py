"""``python -m gigshift`` runs the command line."""

from gigshift.cli import main

main()
