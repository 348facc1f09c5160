"""``python -m meta_agent`` runs the command line."""

from meta_agent.interfaces.cli import main

main()
