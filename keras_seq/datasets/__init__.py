"""Built-in and downloadable corpora."""
