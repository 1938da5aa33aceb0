"""What a save records about its context: code, environment, values (metrics/params/seeds), data."""
