"""Which practice the current unit of work acts for, and the one mechanism that scopes every
query of practice data to it.

One deployment serves many practices. A web request (the signed-in staff member's or the API
token's practice), a webhook (the practice owning the number it was sent to), a CLI command
(``--practice``) and a scheduler job (one practice at a time) each declare the practice they
act for with ``acting_for``; queries of practice data are scoped to it by one mechanism
instead of a filter remembered in each query:

* every model holding practice data inherits the marker ``PracticeScoped`` (and has a
  ``practice_id`` column);
* a ``do_orm_execute`` listener adds ``with_loader_criteria(PracticeScoped, practice_id ==
  <the practice>)`` to every ORM SELECT, UPDATE and DELETE while a practice is set, so joins,
  relationship loads and aliases are scoped too (SQLAlchemy's multi-tenancy recipe);
* a ``before_flush`` listener refuses to write another practice's row while acting for one.

Code that must see every practice says so with ``across_practices()`` (sign-in looking up an
email, the webhook routing by number, the audit chain, the worker claiming due messages).
Inside ``fail_closed()`` (every web request) a query of practice data with neither a practice
nor ``across_practices()`` raises ``UnscopedQuery`` instead of reading every practice's rows.
Outside it (CLI commands, jobs, tests) an unscoped query sees every practice, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    with_loader_criteria,
)

_ACROSS = -1  # the scope value of across_practices(): no practice filter, on purpose

_scope: ContextVar[int | None] = ContextVar("frontdesk_practice_scope", default=None)
_fail_closed: ContextVar[bool] = ContextVar("frontdesk_practice_fail_closed", default=False)


class PracticeScoped:
    """Marker: rows of this model belong to one practice (``practice_id``) and every ORM
    query of them is scoped to the practice the unit of work acts for. Each model declares
    its own ``practice_id`` (index, nullability); this one is what the scoping criteria is
    written against."""

    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))


class UnscopedQuery(RuntimeError):
    """Practice data was queried, inside a request, without naming whose."""


class CrossPracticeWrite(RuntimeError):
    """A row of another practice was written while acting for one."""


def current_practice_id() -> int | None:
    """The practice this unit of work acts for, or None outside any practice's work."""
    scope = _scope.get()
    return None if scope == _ACROSS else scope


@contextmanager
def acting_for(practice_id: int) -> Iterator[None]:
    """Act for ``practice_id`` inside the block (nesting restores the outer practice)."""
    token = _scope.set(practice_id)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def across_practices() -> Iterator[None]:
    """Inside the block, queries see every practice's rows: for the few lookups that decide
    which practice a unit of work is for, and for deployment-wide work."""
    token = _scope.set(_ACROSS)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def fail_closed() -> Iterator[None]:
    """Inside the block, a query of practice data with no practice set raises."""
    token = _fail_closed.set(True)
    try:
        yield
    finally:
        _fail_closed.reset(token)


def _scoped_entities(state: ORMExecuteState) -> list[str]:
    names = []
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, PracticeScoped):
            names.append(mapper.class_.__name__)
    return names


@event.listens_for(Session, "do_orm_execute")
def _scope_to_practice(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load:
        return
    scope = _scope.get()
    if scope == _ACROSS:
        return
    if scope is None:
        if _fail_closed.get():
            scoped = _scoped_entities(state)
            if scoped:
                raise UnscopedQuery(f"{', '.join(scoped)} queried without a practice: act for "
                                    "one (acting_for) or say across_practices()")
        return
    practice_id = scope
    state.statement = state.statement.options(with_loader_criteria(
        PracticeScoped, lambda cls: cls.practice_id == practice_id, include_aliases=True))


@event.listens_for(Session, "before_flush")
def _refuse_other_practices_rows(session: Session, _context: Any, _instances: Any) -> None:
    practice_id = current_practice_id()
    if practice_id is None:
        return
    for row in (*session.new, *session.dirty):
        if not isinstance(row, PracticeScoped):
            continue
        if row.practice_id is None:
            row.practice_id = practice_id
        refuse_other_practice(type(row).__name__, row.practice_id)


def refuse_other_practice(kind: str, practice_id: int | None) -> None:
    """Raise ``CrossPracticeWrite`` when a ``kind`` row of ``practice_id`` is written while
    acting for another practice: the flush guard, and the check of a row written without the
    ORM (``audit.record_now``)."""
    acting_for = current_practice_id()
    if acting_for is not None and practice_id not in (None, acting_for):
        raise CrossPracticeWrite(f"{kind} of practice {practice_id} written while acting for "
                                 f"practice {acting_for}")
