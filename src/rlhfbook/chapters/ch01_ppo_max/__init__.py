"""chapters.ch01_ppo_max"""
