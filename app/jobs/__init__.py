"""Periodic jobs: the registry of what runs when, and the `flask scheduler` process."""
