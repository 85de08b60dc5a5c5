"""The book's machinery, apart from the methods: chapter settings and profiles (``settings``,
``profiles``), the findings contract and its tables (``results``, ``tables``, ``scorecard``,
``display``), running chapters (``cli``, ``chapters``, ``parallel``, ``progress``), the process
set-up every chapter starts with (``runtime``: seeds, threads, dtypes, quiet libraries) and the
Colab install report (``colab``). Used by every chapter, through :func:`rlhfbook.start_chapter`.
"""
