"""Developer tooling of the repository (local brokers, fuzzing, service fetchers); never shipped in the wheel."""
