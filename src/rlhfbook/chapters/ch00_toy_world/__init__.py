"""chapters.ch00_toy_world"""
