"""`python -m sheer`: the same as the `sheer` command."""

from sheer.cli import main

main()
