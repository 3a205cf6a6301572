"""Decision records: one-off studies kept runnable, not benchmarks of the suite and not imported by tests."""
