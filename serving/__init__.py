"""Export for TF Serving, its configuration and a client."""
