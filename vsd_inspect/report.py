"""Placeholder: being written now (see the report issue)."""

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs="*")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("vsd-inspect report is not written yet")
