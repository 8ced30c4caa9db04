"""Planted: same idea as sitecustomize."""
import builtins

builtins.abs = lambda v: 0.0
