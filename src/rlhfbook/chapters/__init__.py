"""Layer 5, one package per chapter: its harness (the runs, seeds and checks) and its figures.
A chapter imports no other chapter.
"""
