"""Test support (at the chapters' level, below ``book``): stand-in models and tokenizers built
in code, with a real vocabulary where a test needs one.
"""
