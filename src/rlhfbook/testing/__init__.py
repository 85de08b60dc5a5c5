"""Test support, above ``methods`` and below ``report``: stand-in models and tokenizers built in
code, with a real vocabulary where a test needs one. Used by the tests and by ``book.gpu_check``;
no chapter imports it.
"""
