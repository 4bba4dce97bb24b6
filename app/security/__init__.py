"""Staff auth, role permissions, audit trail, PHI crypto, signed patient links."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.security import auth

    auth.init_app(app)
