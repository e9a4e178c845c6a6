"""Open data: aggregated figures anyone may download and reuse (CC BY 4.0), at stable URLs."""
