"""``python -m anyprop``: the command line."""

from anyprop.cli.main import entry

entry()
