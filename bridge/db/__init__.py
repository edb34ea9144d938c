"""The bridge's own storage: who may connect, never anything that opens a door.

Homes and carriers are known only by their Ed25519 public keys; enrolment codes only by a
SHA-256 hash. A copy of this database in an attacker's hands opens nothing.
"""
