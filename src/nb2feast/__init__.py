"""nb2feast: a notebook's `%%feature` cells become a Feast feature repository.

`%load_ext nb2feast` registers the magics; it imports neither Feast nor pandas.
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    from nb2feast.magic import FeatureMagics

    ipython.register_magics(FeatureMagics(shell=ipython))


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "nb2feast.server"}]


def _jupyter_labextension_paths() -> list[dict]:
    return [{"src": "labextension", "dest": "nb2feast"}]
