"""Where ``../shared`` (the steering repo's peers and reference facts) is for the tests."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """``../shared`` beside the checkout (as CI has it); $OIDCSETUP_TEST_SHARED overrides it.

    In a git worktree (``.git`` is a file naming the main repository) the main checkout's
    ``../shared`` is used when the worktree has none beside it.
    """
    if os.environ.get("OIDCSETUP_TEST_SHARED"):
        return Path(os.environ["OIDCSETUP_TEST_SHARED"])
    beside = REPO.parent / "shared"
    dot_git = REPO / ".git"
    if not beside.is_dir() and dot_git.is_file():
        gitdir = dot_git.read_text().partition("gitdir:")[2].strip()
        # <main>/.git/worktrees/<name> -> <main>/../shared
        main_shared = Path(gitdir).resolve().parents[2].parent / "shared"
        if main_shared.is_dir():
            return main_shared
    return beside


REFERENCE = shared_dir() / "reference"
