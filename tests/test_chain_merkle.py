"""Merkle tree and SHA-256 known answers (paper Table 1)."""

import hashlib

import pytest

from cppsns3.chain import merkle_proof, merkle_root, verify_proof
from cppsns3.chain.merkle import EMPTY_ROOT, leaf_hash, node_hash, sha256

# Paper, Table 1: the record line, with its trailing newline, and its printed hash.
TABLE1_LINE_87 = "2017-08-19 11:07:00 00 00 13 87\n"
TABLE1_HASH_87 = "79e3fe55b23e95efe841348053dba9c6fd708abc445c535020253a0e6ae97da4"
# The "... 13 88" line: the paper prints this hash with one character dropped
# ("…cad5e1ec…" for "…cadc5e1ec…"); MODEL_NOTES section 5 gives the full value.
TABLE1_LINE_88 = "2017-08-19 11:07:00 00 00 13 88\n"
TABLE1_HASH_88 = "bfa0d04cadc5e1ec26b10fe14ddf1a89ca46124c188f6504d244fa1f816013e0"
TABLE1_HASH_88_AS_PRINTED = "bfa0d04cad5e1ec26b10fe14ddf1a89ca46124c188f6504d244fa1f816013e0"


def test_table1_known_answer():
    assert sha256(TABLE1_LINE_87.encode("ascii")).hex() == TABLE1_HASH_87
    assert hashlib.sha256(TABLE1_LINE_87.encode()).hexdigest() == TABLE1_HASH_87


def test_table1_second_line_and_the_dropped_character():
    h = sha256(TABLE1_LINE_88.encode("ascii")).hex()
    assert h == TABLE1_HASH_88
    # The printed value is the true one with its 11th hex digit missing.
    assert h[:10] + h[11:] == TABLE1_HASH_88_AS_PRINTED
    # One character of difference in the record gives an unrelated hash.
    assert h != TABLE1_HASH_87


def test_rules_small_trees():
    a, b, c, d = b"a", b"b", b"c", b"d"
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert merkle_root([a]) == leaf_hash(a) == hashlib.sha256(b"\x00a").digest()
    assert merkle_root([a, b]) == node_hash(leaf_hash(a), leaf_hash(b))
    assert node_hash(b"x" * 32, b"y" * 32) == hashlib.sha256(b"\x01" + b"x" * 32 + b"y" * 32).digest()
    # odd count: the last node is carried up unchanged, not paired with itself
    assert merkle_root([a, b, c]) == node_hash(node_hash(leaf_hash(a), leaf_hash(b)), leaf_hash(c))
    assert merkle_root([a, b, c]) != merkle_root([a, b, c, c])
    assert merkle_root([a, b, c, d]) == node_hash(node_hash(leaf_hash(a), leaf_hash(b)),
                                                  node_hash(leaf_hash(c), leaf_hash(d)))
    five = [a, b, c, d, b"e"]
    assert merkle_root(five) == node_hash(merkle_root([a, b, c, d]), leaf_hash(b"e"))
    # a leaf cannot pose as an inner node
    assert merkle_root([leaf_hash(a) + leaf_hash(b)]) != merkle_root([a, b])


@pytest.mark.parametrize("n", list(range(1, 18)) + [31, 32, 33, 100])
def test_proofs_verify_for_every_leaf_and_fail_for_changed_leaf(n):
    leaves = [f"record {i}".encode() for i in range(n)]
    root = merkle_root(leaves)
    for i, leaf in enumerate(leaves):
        proof = merkle_proof(leaves, i)
        assert verify_proof(leaf, proof, root)
        assert not verify_proof(leaf + b"!", proof, root)
        assert not verify_proof(leaf, proof, bytes(32))
        if n > 1:
            assert not verify_proof(leaves[(i + 1) % n], proof, root)


def test_proof_index_out_of_range():
    with pytest.raises(IndexError):
        merkle_proof([b"a"], 1)
    with pytest.raises(IndexError):
        merkle_proof([], 0)


def test_root_of_1e4_leaves_changes_with_any_leaf():
    leaves = [i.to_bytes(4, "big") for i in range(10_000)]
    root = merkle_root(leaves)
    for i in (0, 4999, 9998, 9999):
        changed = list(leaves)
        changed[i] = b"x"
        assert merkle_root(changed) != root
