"""Simulation runs: the single-link M/M/1/K experiment, the packet-level round
and validation runs, and the child-process runner."""
