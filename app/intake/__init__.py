"""Intake: the questionnaires patients fill in (Questionnaire definitions) and their responses."""
