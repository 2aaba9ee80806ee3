"""Who people are: users, roles, clearance and credentials; used by tracker, web, cli and services."""
