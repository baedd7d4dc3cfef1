"""Who may do what: grants, direct assignments, effective access with its reasons, the
`access.changed` watch, and previews of a change."""
