"""The shared inbox: the front desk's screen for two-way conversations with patients."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.inbox import canned_views, panel_views, views
    from app.inbox.params import conversation_link

    app.register_blueprint(views.bp)
    app.register_blueprint(panel_views.bp)
    app.register_blueprint(canned_views.bp)
    app.jinja_env.globals.update(conversation_link=conversation_link)
