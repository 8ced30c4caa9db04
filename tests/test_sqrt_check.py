"""The sqrt gate reads the syntax tree: every spelling counts, comments and strings don't."""

import ast

import pytest

from vsd_inspect.grader.integrity import sqrt_spellings

SPELLINGS = {
    "np.sqrt": ("import numpy as np\ns = 1 / np.sqrt(1 - p)", "sqrt() at line 2"),
    "numpy.sqrt": ("import numpy\ns = 1 / numpy.sqrt(q)", "sqrt() at line 2"),
    "math.sqrt": ("import math\ns = 1 / math.sqrt(q)", "sqrt() at line 2"),
    "bare sqrt": ("from math import sqrt\ns = 1 / sqrt(q)", "sqrt() at line 2"),
    "sqrt alias": ("from math import sqrt as root\ns = 1 / root(q)", "sqrt imported as root at line 1"),
    "** 0.5": ("s = 1 / q ** 0.5", "** ±0.5 at line 1"),
    "** -0.5": ("s = q ** -0.5", "** ±0.5 at line 1"),
    "** (1/2)": ("s = 1 / q ** (1 / 2)", "** ±0.5 at line 1"),
    "**= 0.5": ("q **= 0.5", "**= ±0.5 at line 1"),
    "pow": ("s = 1 / pow(q, 0.5)", "pow(·, ±0.5) at line 1"),
    "math.pow": ("import math\ns = math.pow(q, -0.5)", "pow(·, ±0.5) at line 2"),
    "np.power +": ("s = 1 / np.power(q, 0.5)", "power(·, ±0.5) at line 1"),
    "np.power -": ("s = np.power(q, -.5)", "power(·, ±0.5) at line 1"),
    "np.float_power": ("s = np.float_power(q, -0.5)", "float_power(·, ±0.5) at line 1"),
    "sqrt as a value": ("f = np.sqrt\ns = 1 / f(q)", ".sqrt referenced at line 1"),
}

DECOYS = {
    "comment": "# scale = 1 / np.sqrt(1 - p)\nscale = 1 / (1 - p)",
    "string": "note = 'uses np.sqrt(1 - p)'\nscale = 1 / (1 - p)",
    "docstring": 'def f(q):\n    """return 1/sqrt(q)"""\n    return 1 / q',
    "f-string": "msg = f'sqrt of {q}'\nscale = 1 / q",
    "square": "s = q ** 2",
    "pow 2": "s = pow(q, 2)",
    "power 1.5": "s = np.power(q, 1.5)",
    "name sqrt_q": "sqrt_q = q\ns = 1 / sqrt_q",
}


@pytest.mark.parametrize("name", SPELLINGS)
def test_every_spelling_of_a_square_root_counts(name: str) -> None:
    source, expected = SPELLINGS[name]
    assert sqrt_spellings(ast.parse(source)) == [expected]


@pytest.mark.parametrize("name", DECOYS)
def test_comments_strings_and_other_powers_do_not_count(name: str) -> None:
    assert sqrt_spellings(ast.parse(DECOYS[name])) == []
