"""The starting playbook of a new install: sensible definitions for a B2B company."""

from functools import cache
from importlib.resources import files

import yaml


@cache
def default_bodies() -> dict:
    return yaml.safe_load(files(__package__).joinpath("playbook.yaml").read_text(encoding="utf-8"))
