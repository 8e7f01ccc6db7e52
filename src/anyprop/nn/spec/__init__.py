"""Spec files: a network as TOML text (docs/spec.md describes the format).

Three forms, one result: explicit ``[groups.NAME]`` tables with
``[[connections]]``; a ``[layered]`` table (sizes and a transfer function); or a
``[units]`` table listing unit-to-unit connections. :func:`load` returns a
:class:`~anyprop.nn.network.Network` (for the ``[units]`` form, one compiled from
the unit list, carrying its unit map); :func:`dumps` writes a network back, and loading
what it wrote gives the same network. Every mistake is a :class:`SpecError`
naming the file, the line and key, and the fix.
"""

from anyprop.nn.spec.keys import FORMAT_VERSION, SpecError
from anyprop.nn.spec.read import from_dict, load, loads
from anyprop.nn.spec.write import dumps, save, to_dict

__all__ = ["FORMAT_VERSION", "SpecError", "dumps", "from_dict", "load", "loads", "save", "to_dict"]
