"""Staff auth, role permissions, audit trail, blind indexes, key rotation, signed patient links."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.security import audit_context, auth, invitation_views, users_views
    from app.security.permissions import role_label

    audit_context.init_app(app)  # before auth's hooks, which name the actor
    auth.init_app(app)
    app.jinja_env.globals.update(role_label=role_label)
    app.register_blueprint(users_views.bp)
    app.register_blueprint(invitation_views.bp)
