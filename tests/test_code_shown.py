"""Notebooks 02 and 04 show the code they deploy: the very functions of lambda_function.py, as they are now."""

from __future__ import annotations

import inspect
import re

import nbformat
import pytest

import lambda_function
from tutorial.harness import NOTEBOOKS

SHOWN = {
    "02-ingestao-aws": [
        ["lambda_handler"],
        ["belongs_to_group", "partition_date", "raw_key", "store"],
    ],
    "04-etl": [["etl_handler"], ["process_day"], ["message_row"]],
}


@pytest.mark.parametrize("notebook", SHOWN)
def test_the_code_a_notebook_shows_is_the_deployed_code_as_it_is(notebook):
    cells = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4).cells
    shown = [cell for cell in cells if cell.cell_type == "code" and "inspect.getsource(" in cell.source]
    assert len(shown) == len(SHOWN[notebook])
    for cell, names in zip(shown, SHOWN[notebook], strict=True):
        # Every function the cell names is shown, read from the imported module (the file that goes in the zip).
        assert set(re.findall(r"lambda_function\.(\w+)", cell.source)) == set(names)
        [output] = cell.outputs
        expected = "\n\n".join(inspect.getsource(getattr(lambda_function, name)) for name in names)
        # A stale stored output means lambda_function.py changed without `make notebooks`.
        assert output["data"]["text/plain"].rstrip("\n") == expected.rstrip("\n")
