"""Signed CPPS data blocks (issue 5): measurements, Merkle trees, blocks, contracts, chain.

Public API (see ``docs/chain.md``)::

    from cppsns3.chain import Registry, Terminal, Measurement, DataBlock, BlockFormatError, InvalidBlock
    t = Terminal.generate("T7", 7)
    reg = Registry.for_grid("case14"); reg.register("T7", 7, t.public_key)
    b = t.make_block([Measurement("T7/vm_pu/bus7", 1.7e9, 1.02)], bytes(32), 1.7e9)
    assert DataBlock.from_bytes(b.to_bytes()) == b
    reg.verify(b)       # None, or raises InvalidBlock(reason)

Pure Python: nothing here loads ns-3.
"""

from ..errors import BlockFormatError, CppsError, InvalidBlock
from . import reasons
from .block import FORMAT_VERSION, DataBlock, GeneratorBlock
from .chain import GENESIS_HASH, Chain, ChainError, make_generator_block, verify_generator_block
from .chainfile import (
    CHAIN_FILE_SUFFIX,
    ChainFileError,
    ChainFileWriter,
    ChainReport,
    read_chain,
    verify_chain_file,
    write_chain,
)
from .contracts import (
    ContractViolation,
    DataAcquisitionContract,
    Registration,
    RegistrationError,
    Registry,
)
from .keys import Terminal
from .measurements import (
    DEFAULT_START_TIME_S,
    Measurement,
    PowerFlowError,
    column_buses,
    day_type,
    grid_buses,
    load_grid,
    load_profile,
    measurements_for_terminal,
    parse_measurement_id,
    power_flow_series,
)
from .merkle import merkle_proof, merkle_root, verify_proof
from .sized import block_of_size, measurements_of_size

__all__ = [
    "BlockFormatError",
    "CppsError",
    "InvalidBlock",
    "ChainError",
    "ContractViolation",
    "RegistrationError",
    "PowerFlowError",
    "reasons",
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "Measurement",
    "DataBlock",
    "GeneratorBlock",
    "Terminal",
    "Registry",
    "Registration",
    "DataAcquisitionContract",
    "Chain",
    "make_generator_block",
    "verify_generator_block",
    "CHAIN_FILE_SUFFIX",
    "ChainFileError",
    "ChainFileWriter",
    "ChainReport",
    "write_chain",
    "read_chain",
    "verify_chain_file",
    "merkle_root",
    "merkle_proof",
    "verify_proof",
    "power_flow_series",
    "measurements_for_terminal",
    "column_buses",
    "grid_buses",
    "load_grid",
    "load_profile",
    "day_type",
    "parse_measurement_id",
    "DEFAULT_START_TIME_S",
    "block_of_size",
    "measurements_of_size",
]
