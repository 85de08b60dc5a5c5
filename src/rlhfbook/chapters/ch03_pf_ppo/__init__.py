"""chapters.ch03_pf_ppo"""
