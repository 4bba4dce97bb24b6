"""Staff auth, role permissions, audit trail, PHI crypto, signed patient links."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.security import audit_context, audit_views, auth, invitation_views, users_views

    audit_context.init_app(app)  # before auth's hooks, which name the actor
    auth.init_app(app)
    app.register_blueprint(users_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(invitation_views.bp)
