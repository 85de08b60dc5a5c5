"""Layer 3, environments with gold scores: the toy world (``toyworld``), code with unit tests
(``code_tasks``, run by ``sandbox``), the ranking task (``ranking_task``), preference pairs
(``preferences``). Used by chapters 0 to 4.
"""
