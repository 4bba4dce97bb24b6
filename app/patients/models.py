"""Patients and households. Every identifying field is encrypted (see SECURITY.md); the
``*_index`` columns are blind indexes for exact-match lookups."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import EncryptedDate, EncryptedText, UTCDateTime
from app.extensions import db
from app.security import blind_index


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Language(StrEnum):
    ENGLISH = "en"
    SPANISH = "es"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Household(PracticeScoped, db.Model):
    """Patients who share one phone (a family): one conversation, several patients."""

    __table_args__ = (UniqueConstraint("practice_id", "phone_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    phone: Mapped[str] = mapped_column(EncryptedText("household.phone"))
    phone_index: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Patient]] = relationship(back_populates="household",
                                                  order_by="Patient.id")


class Patient(PracticeScoped, db.Model):
    __table_args__ = (
        UniqueConstraint("practice_id", "external_id_index"),
        Index("ix_patient_practice_mobile", "practice_id", "mobile_phone_index"),
        Index("ix_patient_practice_name_dob", "practice_id", "name_dob_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)

    # The patient's identifier in the practice's old system or EHR (a record number: PHI).
    external_id: Mapped[str | None] = mapped_column(EncryptedText("patient.external_id"))
    given_name: Mapped[str] = mapped_column(EncryptedText("patient.given_name"))
    family_name: Mapped[str] = mapped_column(EncryptedText("patient.family_name"))
    date_of_birth: Mapped[date] = mapped_column(EncryptedDate("patient.date_of_birth"))
    sex: Mapped[str] = mapped_column(String(10), default=Sex.UNKNOWN)
    mobile_phone: Mapped[str | None] = mapped_column(EncryptedText("patient.mobile_phone"))
    home_phone: Mapped[str | None] = mapped_column(EncryptedText("patient.home_phone"))
    email: Mapped[str | None] = mapped_column(EncryptedText("patient.email"))
    preferred_language: Mapped[str] = mapped_column(String(5), default=Language.ENGLISH)
    preferred_channel: Mapped[str] = mapped_column(String(10), default=Channel.SMS)
    address_line: Mapped[str | None] = mapped_column(EncryptedText("patient.address_line"))
    city: Mapped[str | None] = mapped_column(EncryptedText("patient.city"))
    state: Mapped[str | None] = mapped_column(String(2))  # kept plain: state quiet-hour rules
    postal_code: Mapped[str | None] = mapped_column(EncryptedText("patient.postal_code"))

    external_id_index: Mapped[str | None] = mapped_column(String(40))
    mobile_phone_index: Mapped[str | None] = mapped_column(String(40))
    home_phone_index: Mapped[str | None] = mapped_column(String(40), index=True)
    email_index: Mapped[str | None] = mapped_column(String(40), index=True)
    family_name_index: Mapped[str] = mapped_column(String(40), index=True)
    name_dob_index: Mapped[str] = mapped_column(String(40))
    dob_index: Mapped[str] = mapped_column(String(40), index=True)

    # A duplicate merged into another record keeps its row (ids in the audit trail still name
    # it) and points at the record that survived; lookups and search skip it.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Created by online booking while resembling this existing patient: staff review it.
    review_match_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    household: Mapped[Household | None] = relationship(back_populates="members",
                                                       foreign_keys=[household_id])
    name_tokens: Mapped[list[PatientNameToken]] = relationship(
        cascade="all, delete-orphan", order_by="PatientNameToken.id")

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def refresh_indexes(self) -> None:
        """Recompute every blind index from the current plaintext values.

        Services call this after changing identifying fields; it is explicit rather than an
        ORM event so that the write path stays readable."""
        self.external_id_index = (blind_index.external_id_index(self.external_id)
                                  if self.external_id else None)
        self.mobile_phone_index = (blind_index.phone_index(self.mobile_phone)
                                   if self.mobile_phone else None)
        self.home_phone_index = (blind_index.phone_index(self.home_phone)
                                 if self.home_phone else None)
        self.email_index = blind_index.email_index(self.email) if self.email else None
        self.family_name_index = blind_index.family_name_index(self.family_name)
        self.name_dob_index = blind_index.name_dob_index(self.given_name, self.family_name,
                                                         self.date_of_birth)
        self.dob_index = blind_index.dob_index(self.date_of_birth)
        self._refresh_name_tokens()

    def _refresh_name_tokens(self) -> None:
        wanted = blind_index.name_prefix_indexes(self.given_name, self.family_name)
        kept = [t for t in self.name_tokens if t.token_index in wanted]
        have = {t.token_index for t in kept}
        self.name_tokens = kept + [
            PatientNameToken(practice_id=self.practice_id, token_index=token)
            for token in sorted(wanted - have)]


class PatientNameToken(PracticeScoped, db.Model):
    """Blind index of one prefix of one word of a patient's names, for partial-name search
    (``blind_index.name_prefix_indexes``; the scheme and its leakage are in the README)."""

    __table_args__ = (Index("ix_patient_name_token_lookup", "practice_id", "token_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"),
                                            index=True)
    token_index: Mapped[str] = mapped_column(String(40))


class PatientPairDismissal(PracticeScoped, db.Model):
    """Staff said these two records are different people: not listed as duplicates again."""

    __table_args__ = (UniqueConstraint("practice_id", "first_id", "second_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    first_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))  # the lower id
    second_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
