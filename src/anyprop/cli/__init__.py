"""anyprop's command line: the parser, the handlers (which call the library only), main()."""

from anyprop.cli.main import main

__all__ = ["main"]
