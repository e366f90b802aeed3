"""marts.fct_inspections_v2: version 2 of marts.fct_inspections, published beside it for the
overlap release (dbt_project/CHANGELOG.md): the same rows without `penalty_10k_yuan`.

Not a second definition: the expectations are those of `fct_inspections.py`
(`expectations(2)`), loaded from the file beside this one. Delete this module together with the
relation when version 2 takes the table's name.
"""

import importlib.util
from pathlib import Path

import great_expectations as gx

TABLE = "marts.fct_inspections_v2"
VERSION = 2


def _definition():
    path = Path(__file__).with_name("fct_inspections.py")
    spec = importlib.util.spec_from_file_location("expectations.marts.fct_inspections", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=_definition().expectations(VERSION))
