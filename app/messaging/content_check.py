"""Minimum-necessary check for SMS texts: no clinical detail, and the practice is named.

A text can be read by anyone holding the phone. HIPAA's minimum-necessary standard and the
FCC 15-72 healthcare-message conditions lead to one policy: an SMS says who (the practice, its
phone), when and what to do, never why - no diagnosis, procedure, test result or specialty that
reveals a condition ("your biopsy", "oncology", "root canal"). FCC 15-72 and CTIA also require
every message to name the sender, so a text that does not name the practice is refused.

Matching is whole-word, case-insensitive and accent-insensitive, in English and Spanish, and
reports the words as written. "Positive" and "negative" are flagged only in a result context
("tested positive", "results were negative", "positive for", "dio positivo"): "stay positive"
and "a positive experience" are fine. The list is a guard against templates written in haste,
not a classifier: staff replies are free text and are not checked.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _

CLINICAL_TERMS = (
    # Diagnoses and conditions
    "diagnosis", "diagnoses", "diagnosed", "HIV", "STD", "STDs", "STI", "STIs",
    "sexually transmitted", "herpes", "hepatitis", "cancer", "tumor", "tumour", "diabetes",
    "diabetic", "pregnancy", "pregnant", "prenatal", "miscarriage", "abortion", "depression",
    "bipolar", "schizophrenia", "addiction", "substance abuse", "opioid", "methadone",
    "suboxone", "infertility", "fertility", "periodontitis", "periodontal", "gum disease",
    # Procedures and tests
    "root canal", "root canals", "extraction", "extractions", "implant", "implants",
    "implant surgery", "oral surgery", "surgery", "bone graft", "biopsy", "biopsies",
    "colonoscopy", "endoscopy", "mammogram", "mammography", "pap smear", "vasectomy",
    "chemotherapy", "chemo", "radiation therapy", "dialysis", "IVF", "test results",
    "test result", "lab results", "lab result", "blood test", "blood work", "bloodwork",
    "pathology",
    # Specialties that reveal a condition
    "oncology", "oncologist", "mental health", "behavioral health", "psychiatry", "psychiatric",
    "psychiatrist", "urology", "urologist", "OB/GYN", "gynecology", "obstetrics", "hematology",
    "nephrology", "sexual health",
    # Spanish
    "diagnóstico", "diagnosticado", "diagnosticada", "VIH", "SIDA",
    "enfermedad de transmisión sexual", "transmisión sexual", "cáncer", "embarazo",
    "embarazada", "aborto", "depresión", "adicción", "diabético", "diabética", "infertilidad",
    "fertilidad", "enfermedad periodontal", "endodoncia", "tratamiento de conducto",
    "conducto radicular", "extracción", "extracciones", "implante", "implantes",
    "cirugía de implante", "cirugía oral", "cirugía", "injerto óseo", "biopsia", "biopsias",
    "colonoscopia", "endoscopia", "mamografía", "papanicolaou", "vasectomía", "quimioterapia",
    "quimio", "radioterapia", "diálisis", "resultados de laboratorio", "resultado de laboratorio",
    "resultados de la prueba", "resultado de la prueba", "resultados de su prueba",
    "análisis de sangre", "patología", "oncología", "oncólogo", "oncóloga", "salud mental",
    "psiquiatría", "psiquiátrico", "psiquiatra", "urología", "urólogo", "ginecología",
    "obstetricia", "hematología", "nefrología", "salud sexual",
)

_RESULT_CONTEXT = (
    r"(?:tested|tests?|results?|came\s+back|screened|screening)\s+(?:(?:was|were|is|are)\s+)?"
    r"(?P<en1>positive|negative)",
    r"(?P<en2>positive|negative)\s+(?:for|results?|tests?|screening)",
    r"(?:dio|sali[oó]|salieron|resultados?|prueba)\s+(?:(?:fue|fueron|es|son)\s+)?"
    r"(?P<es1>positiv[oa]s?|negativ[oa]s?)",
    r"(?P<es2>positiv[oa]s?|negativ[oa]s?)\s+(?:para|a|en\s+la\s+prueba)",
)

_ACCENTS = {"a": "[aá]", "e": "[eé]", "i": "[ií]", "o": "[oó]", "u": "[uúü]"}


def _term_pattern(term: str) -> str:
    """Regex for ``term`` that accepts its words with or without accents, joined by spaces,
    hyphens or slashes ("root-canal", "OB GYN")."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", term.lower())
                    if not unicodedata.combining(ch))
    words = re.split(r"[\s/-]+", plain)
    return r"[\s/-]+".join("".join(_ACCENTS.get(ch, re.escape(ch)) for ch in word)
                            for word in words)


def _whole_words(alternatives: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


_CLINICAL = _whole_words([_term_pattern(term)
                          for term in sorted(CLINICAL_TERMS, key=len, reverse=True)])
_RESULTS = _whole_words(list(_RESULT_CONTEXT))


def find_clinical_detail(text: str) -> list[str]:
    """The clinical words and phrases in ``text`` as written, each once, in order of
    appearance. For a test result only the word "positive" / "negative" is reported."""
    text = unicodedata.normalize("NFC", text)
    hits = [(match.start(), match.group()) for match in _CLINICAL.finditer(text)]
    for match in _RESULTS.finditer(text):
        word = next(group for group in match.groups() if group)
        hits.append((match.start(), word))
    found: dict[str, str] = {}
    for _start, word in sorted(hits):
        found.setdefault(word.casefold(), word)
    return list(found.values())


def _comparable(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").casefold()
    return " ".join(text.split())


def check_sms_template(text: str, practice_name: str) -> list[str]:
    """Problems that keep ``text`` (a rendered SMS) from being sent, in the current locale's
    language; empty when it may go."""
    if not practice_name.strip():
        raise ValueError("practice_name is blank")
    problems = [_("Mentions clinical detail: %(term)s", term=term)
                for term in find_clinical_detail(text)]
    if _comparable(practice_name) not in _comparable(text):
        problems.append(_("Does not name the practice (%(name)s).", name=practice_name))
    return problems
