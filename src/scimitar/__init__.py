"""Scimitar: an organization access service with a SCIM 2.0 provisioning API."""

from scimitar import webhooks

__all__ = ["webhooks"]
