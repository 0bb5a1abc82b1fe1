# cython: language_level=3
"""stub"""
