"""The demo LTI platform behind `adal demo` (loopback only, synthetic people)."""
