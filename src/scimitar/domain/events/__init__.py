"""Telling the host product what changed: the change feed, webhook endpoints, their deliveries
and the address policy for their URLs."""
