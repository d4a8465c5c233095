"""AI-use disclosure on submission (S C.5), attribution statements (C.1, C.2, C.4) and the
stamping and reading of AI provenance in files (C.3)."""
