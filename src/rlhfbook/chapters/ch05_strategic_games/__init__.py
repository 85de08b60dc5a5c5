"""chapters.ch05_strategic_games"""
