"""What the admin API and the console share: who is calling (tokens, console sessions),
the JSON wire and its errors, JSON views of domain objects, and lookups of request values."""
