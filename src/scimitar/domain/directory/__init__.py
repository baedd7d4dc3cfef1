"""Who is in an organization and how it is organized: organizations, people (members), groups
and their kinds, projects, roles and teams, and how they are searched and listed."""
