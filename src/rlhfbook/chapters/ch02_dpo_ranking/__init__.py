"""chapters.ch02_dpo_ranking"""
