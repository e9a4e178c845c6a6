"""Areas of the city and their resident populations by year."""
