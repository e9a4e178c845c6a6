"""Pages that belong to the whole site: health check, accessibility statement, privacy notice, staff home."""
