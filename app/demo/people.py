"""The demo patients: families sharing a phone, individuals, some reachable only by email or a
landline. Every patient goes through the patients service, as an import would."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.demo import data
from app.patients.models import Patient
from app.patients.services import clean_patient_fields, create_patient

PATIENT_COUNT = 500
HOUSEHOLD_COUNT = 40
SPANISH_SHARE = 0.3
# individuals without a mobile; households all share one, so this is ~10% of all patients
NO_MOBILE_SHARE = 0.13
# (youngest, oldest, weight) of an individual patient's age: adults; children come in
# households, reached on the household's (a parent's) mobile, never one of their own
AGE_BANDS = ((18, 34, 28), (35, 54, 33), (55, 74, 28), (75, 90, 11))


@dataclass
class Roster:
    """The created patients, by the location they live near, and by the mobile they text from
    (a household's members share one)."""

    by_place: dict[str, list[Patient]] = field(default_factory=dict)
    by_mobile: dict[str, list[Patient]] = field(default_factory=dict)

    @property
    def households(self) -> list[list[Patient]]:
        return [group for group in self.by_mobile.values() if len(group) > 1]


class _Builder:
    def __init__(self, *, rng: random.Random, practice_id: int, today: date) -> None:
        self.rng = rng
        self.practice_id = practice_id
        self.today = today
        self.serial = 0
        self.roster = Roster(by_place={place.key: [] for place in data.PLACES})
        self.phones = {place.key: self._phone_pool(place) for place in data.PLACES}

    def _phone_pool(self, place: data.Place) -> list[str]:
        taken = {data.PRACTICE["phone"], *(p.phone for p in data.PLACES)}
        pool = [f"+1{code}55501{n:02d}" for code in place.area_codes for n in range(100)]
        pool = [number for number in pool if number not in taken]
        self.rng.shuffle(pool)
        return pool

    def _birth_date(self, age: int) -> date:
        """A birth date that makes the patient ``age`` today."""
        last_birthday = date(self.today.year - age, self.today.month, min(self.today.day, 28))
        return last_birthday - timedelta(days=self.rng.randrange(1, 364))

    def _names(self, language: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        if language == "es":
            return data.SPANISH_FEMALE, data.SPANISH_MALE, data.SPANISH_FAMILY
        return data.ENGLISH_FEMALE, data.ENGLISH_MALE, data.ENGLISH_FAMILY

    def _given(self, language: str, sex: str) -> str:
        female, male, _ = self._names(language)
        return self.rng.choice(female if sex == "female" else male)

    def _family(self, language: str) -> str:
        return self.rng.choice(self._names(language)[2])

    def _email(self, given: str, family: str) -> str:
        def ascii_word(text: str) -> str:
            plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
            return "".join(c for c in plain.lower() if c.isalnum())

        suffix = str(self.rng.randrange(1, 99)) if self.rng.random() < 0.5 else ""
        return (f"{ascii_word(given)}.{ascii_word(family)}{suffix}"
                f"@{self.rng.choice(data.EMAIL_DOMAINS)}")

    def _address(self, place: data.Place) -> dict[str, str]:
        city, postal_code = self.rng.choice(place.towns)
        return {"address_line": f"{self.rng.randrange(100, 9900)} {self.rng.choice(place.streets)}",
                "city": city, "state": place.state, "postal_code": postal_code}

    def _add(self, place: data.Place, *, given: str, family: str, sex: str, age: int,
             language: str, address: dict[str, str], mobile: str | None, home: str | None,
             email: str | None) -> Patient:
        self.serial += 1
        values = clean_patient_fields({
            "external_id": f"LEG-{self.serial:06d}", "given_name": given, "family_name": family,
            "date_of_birth": self._birth_date(age), "sex": sex, "preferred_language": language,
            "mobile_phone": mobile, "home_phone": home, "email": email, **address,
        }, today=self.today)
        patient = create_patient(practice_id=self.practice_id, values=values, audited=False)
        self.roster.by_place[place.key].append(patient)
        if mobile:
            self.roster.by_mobile.setdefault(mobile, []).append(patient)
        return patient

    def _place(self) -> data.Place:
        return data.CHICAGO if self.rng.random() < data.CHICAGO.patient_share else data.DENVER

    def _language(self) -> str:
        return "es" if self.rng.random() < SPANISH_SHARE else "en"

    def household(self) -> int:
        rng = self.rng
        place, language = self._place(), self._language()
        mobile = self.phones[place.key].pop()
        address = self._address(place)
        family = self._family(language)
        if rng.random() < 0.15:  # an older couple
            ages = [rng.randint(62, 88)]
            ages.append(min(90, max(60, ages[0] + rng.randint(-5, 5))))
        else:
            head = rng.randint(28, 55)
            size = rng.choice((2, 2, 2, 3, 3, 4))
            ages = [head]
            if rng.random() < 0.7:
                ages.append(max(22, head + rng.randint(-6, 6)))
            while len(ages) < size:
                ages.append(rng.randint(2, min(17, head - 18)))
        first_sex = rng.choice(("female", "male"))
        for n, age in enumerate(ages):
            adult = age >= 18
            if n == 0:
                sex = first_sex
            elif n == 1 and adult:
                sex = "male" if first_sex == "female" else "female"
            else:
                sex = rng.choice(("female", "male"))
            # a partner sometimes kept their own family name; children share the family's
            surname = self._family(language) if n == 1 and adult and rng.random() < 0.15 \
                else family
            given = self._given(language, sex)
            email = self._email(given, surname) if adult and rng.random() < 0.6 else None
            self._add(place, given=given, family=surname, sex=sex, age=age, language=language,
                      address=address, mobile=mobile, home=None, email=email)
        return len(ages)

    def individual(self) -> None:
        rng = self.rng
        place, language = self._place(), self._language()
        low, high, _ = rng.choices(AGE_BANDS, weights=[band[2] for band in AGE_BANDS])[0]
        age = rng.randint(low, high)
        sex = rng.choice(("female", "male"))
        given, family = self._given(language, sex), self._family(language)
        email = self._email(given, family) if rng.random() < 0.65 else None
        mobile, home = self.phones[place.key].pop(), None
        if rng.random() < NO_MOBILE_SHARE:
            mobile = None
            reach = rng.random()
            email = self._email(given, family) if reach < 0.6 else None
            home = self.phones[place.key].pop() if reach >= 0.4 else None
        elif rng.random() < 0.15:
            home = self.phones[place.key].pop()
        self._add(place, given=given, family=family, sex=sex, age=age, language=language,
                  address=self._address(place), mobile=mobile, home=home, email=email)


def create_patients(*, rng: random.Random, practice_id: int, today: date) -> Roster:
    """Create the demo's patients (flushed, not committed), unaudited: the seed records one
    audit event for itself."""
    builder = _Builder(rng=rng, practice_id=practice_id, today=today)
    created = sum(builder.household() for _ in range(HOUSEHOLD_COUNT))
    for _ in range(PATIENT_COUNT - created):
        builder.individual()
    return builder.roster
