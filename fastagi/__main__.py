"""`python -m fastagi` is the `ivr` command."""

from fastagi.cli import main

main()
