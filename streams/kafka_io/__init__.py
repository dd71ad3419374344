"""Kafka I/O of cckpi: topic names, connection addresses, admin, changelog store, reading and publishing."""
