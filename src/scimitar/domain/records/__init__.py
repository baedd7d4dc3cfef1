"""What happened: the audit log of every change and the provisioning log of SCIM requests."""
