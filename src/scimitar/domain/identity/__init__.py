"""Who is calling: SCIM keys, admin API tokens, console passwords and sessions, and the
deployment's secrets."""
