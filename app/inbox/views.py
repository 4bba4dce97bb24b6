"""The inbox screens: the list (with its live refresh), a conversation's thread with the
patient panel and the composer, and what staff do there. Live refreshes are ``@passive``:
they do not keep a session alive (app/security/sessions.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import FieldErrors
from app.inbox import (
    actions,
    attachments,
    canned,
    composer,
    panel,
    presence,
    queries,
    search,
    threads,
)
from app.inbox.params import filter_args, list_filter, local_moment
from app.security.permissions import Permission, requires
from app.security.sessions import passive
from app.web.uploads import accepts_files

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
T = TypeVar("T")


def _missing() -> NoReturn:
    abort(404, description=_("There is no conversation with that number in this practice."))


def _page(chosen: queries.ListFilter, shown_newest: str | None = None) -> queries.ListPage:
    try:
        return queries.conversation_page(practice_id=current_user.practice_id,
                                         staff_id=current_user.id, chosen=chosen,
                                         shown_newest=shown_newest)
    except (queries.InvalidFilter, search.SearchRefused) as refused:
        abort(400, description=" ".join(refused.errors.values()))


def _is_htmx() -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request")


@bp.get("")
@requires(Permission.INBOX_WORK)
def index() -> Any:
    chosen = list_filter()
    page = _page(chosen)
    if _is_htmx() and chosen.cursor:
        return render_template("inbox/_list_rows.html", page=page, chosen=chosen,
                               args=filter_args(chosen), current_id=None)
    return render_template("inbox/index.html", page=page, chosen=chosen,
                           args=filter_args(chosen), thread=None, current_id=None,
                           locations=panel.locations(practice_id=current_user.practice_id))


@bp.get("/live")
@requires(Permission.INBOX_WORK)
@passive
def live_list() -> Any:
    chosen = list_filter()
    current_id = request.args.get("current", type=int)
    page = _page(chosen, shown_newest=request.args.get("newest"))
    return render_template("inbox/_list_live.html", page=page, chosen=chosen, live=True,
                           args=filter_args(chosen), current_id=current_id)


@bp.post("/search")
@requires(Permission.INBOX_WORK)
def run_search() -> Any:
    try:
        token = search.create(practice_id=current_user.practice_id, staff_id=current_user.id,
                              query=request.form.get("q", ""))
    except search.SearchRefused as refused:
        flash(refused.errors["q"], "error")
        return redirect(url_for("inbox.index"))
    return redirect(url_for("inbox.index", s=token))


def _thread_page(conversation_id: int, chosen: queries.ListFilter,
                 draft: composer.Draft | None = None, status: int = 200) -> Any:
    """The inbox with the conversation open; ``draft``: a refused reply, shown again."""
    try:
        thread = threads.open_thread(practice_id=current_user.practice_id,
                                     conversation_id=conversation_id, staff_id=current_user.id)
    except threads.ConversationNotFound:
        _missing()
    keep_token = draft is not None and "token" not in draft.errors
    return render_template(
        "inbox/index.html", page=_page(chosen), chosen=chosen, args=filter_args(chosen),
        thread=thread, current_id=conversation_id, draft=draft,
        token=draft.token if keep_token else secrets.token_urlsafe(24),
        attach_limits=attachments.LIMITS,
        side=panel.side_panel(practice_id=current_user.practice_id, thread=thread),
        quiet=composer.quiet_hours_now(practice_id=current_user.practice_id,
                                       conversation_id=conversation_id),
        replies=canned.active_replies(practice_id=current_user.practice_id),
        staff=panel.assignable_staff(practice_id=current_user.practice_id),
        others=presence.report(practice_id=current_user.practice_id,
                               conversation_id=conversation_id, staff_id=current_user.id,
                               typing=False)), status


@bp.get("/c/<id:conversation_id>")
@requires(Permission.INBOX_WORK)
def conversation(conversation_id: int) -> Any:
    return _thread_page(conversation_id, list_filter())


@bp.get("/c/<id:conversation_id>/live")
@requires(Permission.INBOX_WORK)
@passive
def live_thread(conversation_id: int) -> Any:
    try:
        thread = threads.open_thread(practice_id=current_user.practice_id,
                                     conversation_id=conversation_id, staff_id=current_user.id,
                                     seen_message_id=request.args.get("seen", 0, type=int))
    except threads.ConversationNotFound:
        _missing()
    others = presence.report(practice_id=current_user.practice_id,
                             conversation_id=conversation_id, staff_id=current_user.id,
                             typing=request.args.get("typing") == "1")
    return render_template("inbox/_thread_live.html", thread=thread, others=others)


def _back(conversation_id: int) -> Response:
    target = url_for("inbox.conversation", conversation_id=conversation_id,
                     **filter_args(list_filter(request.form)))
    if _is_htmx():  # the whole page, with what was flashed
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)


def _refused(refused: FieldErrors) -> None:
    for reason in refused.errors.values():
        flash(reason, "error")


def _act(conversation_id: int, change: Callable[[], T],
         done: Callable[[T], tuple[str, str] | None] = lambda _result: None) -> Response:
    """Run one change to the conversation and go back to it: a missing conversation is a
    404, a refusal flashes its reasons, ``done(result)`` is the (message, category) flashed
    after it worked, if any."""
    try:
        result = change()
    except threads.ConversationNotFound:
        _missing()
    except FieldErrors as refused:
        _refused(refused)
    else:
        if (said := done(result)) is not None:
            flash(*said)
    return _back(conversation_id)


def _uploads() -> list[attachments.Upload]:
    read = (attachments.read_upload(f.filename, f.stream)
            for f in request.files.getlist(attachments.FIELD))
    return [upload for upload in read if upload is not None]


@bp.post("/c/<id:conversation_id>/reply")
@requires(Permission.INBOX_WORK)
@accepts_files(attachments.MAX_REQUEST_BYTES)
def reply(conversation_id: int) -> Any:
    form, uploads = request.form, _uploads()
    # The typed time, or the quiet-hours button's (it comes after the empty field).
    later = next((value for value in reversed(form.getlist("send_at")) if value), "")
    try:
        composer.reply(
            practice_id=current_user.practice_id, conversation_id=conversation_id,
            staff_id=current_user.id, body=form.get("body", ""), token=form.get("token", ""),
            uploads=uploads, send_at=local_moment(later, field="send_at",
                                                  zone=form.get("zone", "UTC")))
    except threads.ConversationNotFound:
        _missing()
    except FieldErrors as refused:  # the composer again, with what was typed and why not
        return _thread_page(conversation_id, list_filter(form), composer.Draft(
            body=form.get("body", ""), send_at=later, canned=form.get("canned", ""),
            token=form.get("token", ""), errors=refused.errors,
            files=tuple(upload.filename for upload in uploads)),
            status=200 if _is_htmx() else 422)  # htmx swaps in a 200 only
    flash(_("Reply queued: it is sent at %(when)s.", when=later) if later
          else _("Reply sent to the outbox."), "success")
    return _back(conversation_id)


@bp.post("/c/<id:conversation_id>/note")
@requires(Permission.INBOX_WORK)
def note(conversation_id: int) -> Any:
    return _act(conversation_id, lambda: actions.add_note(
        practice_id=current_user.practice_id, conversation_id=conversation_id,
        staff_id=current_user.id, body=request.form.get("note", "")))


@bp.post("/c/<id:conversation_id>/assign")
@requires(Permission.INBOX_WORK)
def assign(conversation_id: int) -> Any:
    return _act(conversation_id, lambda: actions.assign(
        practice_id=current_user.practice_id, conversation_id=conversation_id,
        staff_id=current_user.id, target=request.form.get("assign", "")))


@bp.post("/c/<id:conversation_id>/status")
@requires(Permission.INBOX_WORK)
def set_status(conversation_id: int) -> Any:
    return _act(conversation_id, lambda: actions.set_status(
        practice_id=current_user.practice_id, conversation_id=conversation_id,
        status=request.form.get("status", ""),
        snooze_until=local_moment(request.form.get("until"), field="until",
                                  zone=request.form.get("zone", "UTC"))))


@bp.post("/c/<id:conversation_id>/messages/<id:message_id>/cancel")
@requires(Permission.INBOX_WORK)
def cancel_scheduled(conversation_id: int, message_id: int) -> Any:
    return _act(conversation_id, lambda: composer.cancel_scheduled(
        practice_id=current_user.practice_id, conversation_id=conversation_id,
        message_id=message_id),
        lambda done: (_("The scheduled reply is cancelled."), "success") if done else
        (_("That reply is already on its way: it can no longer be cancelled."), "warning"))


@bp.get("/c/<id:conversation_id>/canned")
@requires(Permission.INBOX_WORK)
def insert_canned(conversation_id: int) -> Any:
    try:
        text = canned.filled(practice_id=current_user.practice_id,
                             conversation_id=conversation_id,
                             reply_id=request.args.get("canned", 0, type=int))
    except threads.ConversationNotFound:
        _missing()
    except FieldErrors as refused:
        abort(400, description=" ".join(refused.errors.values()))
    return render_template("inbox/_composer_body.html", body=text)
