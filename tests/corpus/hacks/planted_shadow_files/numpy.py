"""Planted: a fake numpy that would shadow the real one."""
def var(*a, **k):
    return 1.0
