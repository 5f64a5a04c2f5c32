"""The routing algorithm names: one list, importable without numpy or networkx.

The CLI builds its help texts from it at start-up, so it must stay free of
heavy imports; :mod:`cppsns3.model.scenario` re-exports it.

Examples
--------
>>> from cppsns3.model.names import ALGORITHMS, DEFAULT_ALGORITHMS
>>> ALGORITHMS
('qtdr', 'qos-r', 'ra-dbmm', 'qtdr-ls')
>>> DEFAULT_ALGORITHMS
('qtdr', 'qos-r', 'ra-dbmm')
"""

#: The one list of routing algorithm names (CLI values, JSON keys, scenario ``algorithms``).
ALGORITHMS = ("qtdr", "qos-r", "ra-dbmm", "qtdr-ls")
#: A scenario's ``algorithms`` when it names none: the paper's three (``all`` adds ``qtdr-ls``).
DEFAULT_ALGORITHMS = ALGORITHMS[:3]


def algorithm_help(default: str, *, all_: bool = True) -> str:
    """The ``--algorithm`` help text of a command: the names (and ``all``) and the default."""
    names = ", ".join(ALGORITHMS) + " or all" if all_ else ", ".join(ALGORITHMS[:-1]) + " or " + ALGORITHMS[-1]
    return f"{names} (default: {default})."
