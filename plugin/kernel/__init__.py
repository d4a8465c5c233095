"""The shared kernel: what every domain may use (DESIGN.md). It imports no domain and no top module."""
