"""chapters.ch04_reward_distance"""
