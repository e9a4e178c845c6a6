"""Resident events and the public calendar with its iCalendar feed."""
