"""Placeholder: being written now (see the bench issue)."""

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs="*")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("vsd-inspect bench is not written yet")
