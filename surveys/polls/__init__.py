"""Quick polls: one tap per question on a phone or a library kiosk, no registration."""
