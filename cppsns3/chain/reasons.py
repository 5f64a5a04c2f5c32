"""Machine-readable reasons carried by chain errors (``err.reason``).

Verification (:class:`~cppsns3.errors.InvalidBlock`):

``UNKNOWN_SIGNER``, ``BAD_SIGNATURE``, ``MERKLE_MISMATCH``, ``REPLAY``,
``WRONG_PREVIOUS_HASH``, ``TIMESTAMP_OUTSIDE_TOLERANCE``,
``TIMESTAMP_OUT_OF_ORDER``, ``WRONG_HEIGHT``, ``NOT_COVERED``,
``MISSING_BLOCK``.

Registration contract (:class:`~cppsns3.chain.RegistrationError`):
``DUPLICATE_ID``, ``NOT_A_BUS``, ``LOCATION_TAKEN``, ``DUPLICATE_KEY``,
``BAD_KEY``, ``BAD_ID``.

Data-acquisition contract (:class:`~cppsns3.chain.ContractViolation`, also an
``InvalidBlock`` reason when a received block breaks its contract):
``WRONG_TERMINAL``, ``FOREIGN_DATA``, ``DATA_TYPE``, ``SENSOR_COUNT``,
``OUTSIDE_TIME_SCALE``, ``TIMESTAMP_OUTSIDE_TOLERANCE``, ``NOT_EVENT_DRIVEN``,
``NOT_TIME_DRIVEN``.
"""

UNKNOWN_SIGNER = "unknown signer"
BAD_SIGNATURE = "bad signature"
MERKLE_MISMATCH = "merkle mismatch"
REPLAY = "replay"
WRONG_PREVIOUS_HASH = "wrong previous hash"
TIMESTAMP_OUTSIDE_TOLERANCE = "timestamp outside tolerance"
TIMESTAMP_OUT_OF_ORDER = "timestamp out of order"
WRONG_HEIGHT = "wrong height"
NOT_COVERED = "not covered"
MISSING_BLOCK = "missing block"

DUPLICATE_ID = "duplicate id"
NOT_A_BUS = "not a bus"
LOCATION_TAKEN = "location taken"
DUPLICATE_KEY = "duplicate key"
BAD_KEY = "bad key"
BAD_ID = "bad id"

WRONG_TERMINAL = "wrong terminal"
FOREIGN_DATA = "foreign data"
DATA_TYPE = "data type"
SENSOR_COUNT = "sensor count"
OUTSIDE_TIME_SCALE = "outside time scale"
NOT_EVENT_DRIVEN = "not event-driven"
NOT_TIME_DRIVEN = "not time-driven"
