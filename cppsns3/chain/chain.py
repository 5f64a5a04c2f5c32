"""The generator's blocks and the chain they form.

A round (paper, Figure 6): every terminal broadcasts its signed data block;
the generator then broadcasts a signed :class:`~cppsns3.chain.block.GeneratorBlock`
listing the hashes of the data blocks it accepted, with a Merkle root over
them.  A receiver checks that block with :func:`verify_generator_block`
against the hashes of the data blocks it received itself.

:class:`Chain` keeps the rounds: generator block ``i`` points at generator
block ``i - 1`` (zeros for the first), and every data block of round ``i``
points at generator block ``i - 1`` too (the tip the terminal saw).

Full-chain validation (:meth:`Chain.validate`) checks each round in order and
raises :class:`ChainError` for the first bad block, naming its round
(``height``), its position among the round's data blocks (``data_index``,
None for the generator block) and the reason.  Per round:

generator block
    ``wrong height`` → ``replay`` (its hash appeared earlier) →
    ``wrong previous hash`` → ``timestamp out of order`` (older than the
    previous generator block) → ``unknown signer`` → ``bad signature`` →
    ``merkle mismatch`` (root over its listed hashes);
each data block, in stored order
    ``unknown signer`` → ``bad signature`` → ``merkle mismatch`` (records vs
    header root) → ``replay`` (same block earlier in the chain or round) →
    ``wrong previous hash`` → ``timestamp outside tolerance`` (more than Δt
    from the generator block's timestamp) → ``not covered`` (its hash is not
    listed in the generator block);
finally
    ``missing block`` (the generator block lists a hash with no stored data
    block; reported on the generator block).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import InvalidBlock
from . import reasons as R
from .block import DataBlock, GeneratorBlock
from .contracts import Registry
from .keys import Terminal

__all__ = [
    "GENESIS_HASH",
    "ChainError",
    "Chain",
    "make_generator_block",
    "verify_generator_block",
]

#: ``prev_hash`` of the first generator block and of the first round's data blocks.
GENESIS_HASH = bytes(32)


class ChainError(InvalidBlock):
    """A chain that fails validation, naming its first bad block.

    Attributes
    ----------
    reason : str
        Why (see :mod:`cppsns3.chain.reasons`).
    height : int
        The round (generator block index) of the bad block.
    data_index : int or None
        Index of the bad data block within the round, None for the generator
        block itself.
    block_hash : bytes
        Hash of the bad block.
    """

    def __init__(self, reason: str, message: str, height: int, data_index: int | None,
                 block_hash: bytes):
        where = f"round {height} " + ("generator block" if data_index is None
                                      else f"data block {data_index}")
        super().__init__(reason, f"{where} ({block_hash.hex()[:16]}): {message}")
        self.height = height
        self.data_index = data_index
        self.block_hash = block_hash


def make_generator_block(generator: Terminal, data_blocks: Sequence, prev_hash: bytes,
                         timestamp_s: float, height: int = 0) -> GeneratorBlock:
    """The generator's signed block over a round's data blocks.

    Parameters
    ----------
    generator : Terminal
        The generating terminal (signs the block).
    data_blocks : sequence of DataBlock or bytes
        The accepted data blocks or their 32-byte hashes (listed sorted).
    prev_hash : bytes
        Hash of the previous generator block (:data:`GENESIS_HASH` first).
    timestamp_s : float
        Epoch seconds.
    height : int, default 0
        Position in the chain.

    Returns
    -------
    GeneratorBlock

    Raises
    ------
    ValueError
        If a field is malformed.
    """
    return generator.make_generator_block(data_blocks, prev_hash, timestamp_s, height)


def verify_generator_block(block, data_block_hashes: Iterable[bytes], registry: Registry, *,
                           prev_hash: bytes | None = None, height: int | None = None,
                           remember: bool = False) -> GeneratorBlock:
    """Verify a received generator block against the data blocks it should cover.

    Parameters
    ----------
    block : GeneratorBlock or bytes
        The block, or its received encoding (decoded here).
    data_block_hashes : iterable of bytes
        Hashes (:meth:`DataBlock.hash`) of the data blocks the receiver holds
        for this round, in any order.
    registry : Registry
        Knows the generator's public key.
    prev_hash : bytes, optional
        Expected previous generator-block hash (checked if given).
    height : int, optional
        Expected height (checked if given).
    remember : bool, default False
        Refuse the block if ``registry`` saw it before, and remember it.

    Returns
    -------
    GeneratorBlock
        The (decoded) block.

    Raises
    ------
    BlockFormatError
        If ``block`` is bytes that do not decode.
    InvalidBlock
        ``wrong height``, ``wrong previous hash``, ``unknown signer``,
        ``bad signature``, ``merkle mismatch`` (header root vs listed
        hashes), ``not covered`` (a held data block is not listed),
        ``missing block`` (a listed hash is not held) or ``replay``.
    """
    if not isinstance(block, GeneratorBlock):
        block = GeneratorBlock.from_bytes(block)
    if height is not None and block.height != height:
        raise InvalidBlock(R.WRONG_HEIGHT, f"wrong height: {block.height}, expected {height}")
    if prev_hash is not None and block.prev_hash != prev_hash:
        raise InvalidBlock(R.WRONG_PREVIOUS_HASH, f"wrong previous hash: "
                           f"{block.prev_hash.hex()[:16]}, expected {prev_hash.hex()[:16]}")
    registry.check_signed(block)
    held = set(bytes(h) for h in data_block_hashes)
    listed = set(block.block_hashes)
    extra = held - listed
    if extra:
        raise InvalidBlock(R.NOT_COVERED, f"not covered: data block {min(extra).hex()[:16]} "
                           f"is not listed in the generator block")
    missing = listed - held
    if missing:
        raise InvalidBlock(R.MISSING_BLOCK, f"missing block: the generator block lists "
                           f"{min(missing).hex()[:16]}, which is not held")
    if remember:
        if block.hash() in registry.seen:
            raise InvalidBlock(R.REPLAY, f"replay: generator block {block.hash().hex()[:16]}")
        registry.seen.add(block.hash())
    return block


class Chain:
    """The CPPS data blockchain: rounds of (generator block, data blocks).

    Parameters
    ----------
    registry : Registry
        Registered terminals (their keys verify every block).
    tolerance_s : float, default 900
        Δt: the largest distance between a data block's timestamp and its
        round's generator-block timestamp.

    Attributes
    ----------
    rounds : list of (GeneratorBlock, tuple of DataBlock)
    """

    def __init__(self, registry: Registry, tolerance_s: float = 900.0):
        self.registry = registry
        self.tolerance_s = float(tolerance_s)
        self.rounds: list[tuple[GeneratorBlock, tuple[DataBlock, ...]]] = []
        self._seen: set[bytes] = set()

    def __len__(self) -> int:
        return len(self.rounds)

    @property
    def height(self) -> int:
        """Height the next generator block gets (= number of rounds)."""
        return len(self.rounds)

    @property
    def tip_hash(self) -> bytes:
        """Hash of the last generator block, :data:`GENESIS_HASH` if empty."""
        return self.rounds[-1][0].hash() if self.rounds else GENESIS_HASH

    def _check_round(self, height: int, prev: GeneratorBlock | None, gen: GeneratorBlock,
                     data: Sequence[DataBlock], seen: set[bytes]) -> list[bytes]:
        prev_hash = prev.hash() if prev is not None else GENESIS_HASH

        def fail(reason, msg, idx, blk):
            raise ChainError(reason, msg, height, idx, blk.hash())

        if not isinstance(gen, GeneratorBlock):
            raise TypeError(f"round {height}: expected a GeneratorBlock, got {type(gen).__name__}")
        if gen.height != height:
            fail(R.WRONG_HEIGHT, f"height field is {gen.height}", None, gen)
        if gen.hash() in seen:
            fail(R.REPLAY, "this generator block appears earlier in the chain", None, gen)
        if gen.prev_hash != prev_hash:
            fail(R.WRONG_PREVIOUS_HASH, f"prev_hash {gen.prev_hash.hex()[:16]} is not the previous "
                 f"generator block {prev_hash.hex()[:16]}", None, gen)
        if prev is not None and gen.timestamp_s < prev.timestamp_s:
            fail(R.TIMESTAMP_OUT_OF_ORDER, f"timestamp {gen.timestamp_s!r} is before the previous "
                 f"generator block's {prev.timestamp_s!r}", None, gen)
        try:
            self.registry.check_signed(gen)
        except InvalidBlock as exc:
            fail(exc.reason, str(exc), None, gen)
        listed = set(gen.block_hashes)
        new_hashes = [gen.hash()]
        round_seen: set[bytes] = set()
        for i, d in enumerate(data):
            if not isinstance(d, DataBlock):
                raise TypeError(f"round {height} data block {i}: expected a DataBlock, got "
                                f"{type(d).__name__}")
            try:
                self.registry.check_signed(d)
            except InvalidBlock as exc:
                fail(exc.reason, str(exc), i, d)
            h = d.hash()
            if h in seen or h in round_seen:
                fail(R.REPLAY, "this data block appears earlier in the chain", i, d)
            if d.prev_hash != prev_hash:
                fail(R.WRONG_PREVIOUS_HASH, f"prev_hash {d.prev_hash.hex()[:16]} is not the previous "
                     f"generator block {prev_hash.hex()[:16]}", i, d)
            if abs(d.timestamp_s - gen.timestamp_s) > self.tolerance_s:
                fail(R.TIMESTAMP_OUTSIDE_TOLERANCE, f"timestamp {d.timestamp_s!r} is "
                     f"{abs(d.timestamp_s - gen.timestamp_s):.6g} s from the generator block's "
                     f"{gen.timestamp_s!r} (tolerance {self.tolerance_s} s)", i, d)
            if h not in listed:
                fail(R.NOT_COVERED, "its hash is not listed under the generator block's Merkle root",
                     i, d)
            round_seen.add(h)
            new_hashes.append(h)
        missing = listed - round_seen
        if missing:
            fail(R.MISSING_BLOCK, f"lists data block {min(missing).hex()[:16]}, which is not "
                 f"stored", None, gen)
        return new_hashes

    def append(self, generator_block: GeneratorBlock, data_blocks: Sequence[DataBlock]) -> None:
        """Validate one round against the tip and append it.

        Raises
        ------
        ChainError
            If the round is invalid (nothing is appended).
        TypeError
            If the arguments are not blocks.
        """
        data = tuple(data_blocks)
        prev = self.rounds[-1][0] if self.rounds else None
        new = self._check_round(len(self.rounds), prev, generator_block, data, self._seen)
        self.rounds.append((generator_block, data))
        self._seen.update(new)

    def make_round(self, generator: Terminal, data_blocks: Sequence[DataBlock],
                   timestamp_s: float) -> GeneratorBlock:
        """Sign a generator block over ``data_blocks`` at the tip and append the round.

        Returns
        -------
        GeneratorBlock

        Raises
        ------
        ChainError
            If a data block is invalid.
        """
        data = tuple(data_blocks)
        gen = generator.make_generator_block(data, self.tip_hash, timestamp_s, self.height)
        self.append(gen, data)
        return gen

    def first_error(self) -> ChainError | None:
        """Re-validate the whole chain from the start; the first error, or None."""
        seen: set[bytes] = set()
        prev = None
        for height, (gen, data) in enumerate(self.rounds):
            try:
                seen.update(self._check_round(height, prev, gen, data, seen))
            except ChainError as exc:
                return exc
            prev = gen
        return None

    def validate(self) -> None:
        """Re-validate the whole chain from the start.

        Raises
        ------
        ChainError
            Naming the first bad block (round, data index) and why.
        """
        err = self.first_error()
        if err is not None:
            raise err
