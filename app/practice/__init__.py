"""The practice: its locations, providers and settings."""
