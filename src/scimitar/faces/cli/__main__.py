"""`python -m scimitar.faces.cli`: the `scimitar` command."""

from scimitar.faces.cli import main

main()
