"""The practice (the tenant every row belongs to): its locations and providers, creating a
practice, and the ``--practice`` option of every command on one practice's data."""
