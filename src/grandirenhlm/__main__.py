"""`python -m grandirenhlm` runs the CLI."""

from grandirenhlm.cli import main

main()
