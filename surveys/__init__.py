"""The standard feedback questionnaire, cross-event comparison and quick polls."""
