"""Forms patients fill in: Questionnaire definitions and the patients' responses."""
