"""Chapter 0, the toy world: its figures."""
