"""Staff accounts: roles, login, sessions and the admin's user management."""
