"""Shared kernel: clock, column types, domain events."""
