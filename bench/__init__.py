"""Benchmarks (`make bench`): run by hand, never by the test suite; numbers go in the README."""
