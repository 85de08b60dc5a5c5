"""Layer 5, the contract between a chapter and the book: what a chapter declares (``spec``: its
settings, profiles and budgets) and what it reports -- its findings and their verdicts
(``results``, ``verdicts``), their tables (``tables``) and how the page shows them (``display``,
``diagram``). Chapters import it; the book (``rlhfbook.book``) reads it.
"""
