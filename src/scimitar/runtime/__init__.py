"""What runs beside the faces: the webhook worker, outbound HTTP, metrics and logs."""
