"""Probes that wait on the network run side by side."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


@contextlib.contextmanager
def concurrent(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool for requests that do not depend on each other (each with its own client:
    a request's hard deadline cuts every socket of its client)."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oidcsetup-probe") as pool:
        yield pool
