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


#: How a block reaches every node (scenario ``broadcast``, ``--broadcast``): the paper's
#: n - 1 unicasts on the planned paths, or relayed node to node (gossip).
BROADCAST_MODES = ("unicast", "relay")


def algorithm_help(default: str, *, all_: bool = True) -> str:
    """The ``--algorithm`` help text of a command: the names (and ``all``) and the default."""
    names = ", ".join(ALGORITHMS) + " or all" if all_ else ", ".join(ALGORITHMS[:-1]) + " or " + ALGORITHMS[-1]
    return f"{names} (default: {default})."


def broadcast_help() -> str:
    """The ``--broadcast`` help text."""
    return (f"{' or '.join(BROADCAST_MODES)}: the paper's unicasts on the planned paths, or blocks relayed "
            "node to neighbour after each node verified them (default: the scenario's).")
