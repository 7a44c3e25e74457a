"""Where a container's image comes from: a folder ``images/<name>/`` of the project.

A build sends the folder to Docker, so the folder, and its Dockerfile, must be inside
the project: a link that leads elsewhere (``images/main -> ~``) is refused rather than
followed.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["local_image"]


def local_image(project: Path, name: str) -> bool:
    """Whether ``images/<name>/Dockerfile`` is there; ValueError when the folder or its
    Dockerfile is a link that leads out of the project (a build would send what it points
    at to Docker)."""
    root = project.resolve()
    folder = project / "images" / name
    dockerfile = folder / "Dockerfile"
    for path in (folder, dockerfile):
        if not os.path.lexists(path):
            break
        target = path.resolve()
        if not target.is_relative_to(root):
            raise ValueError(
                f"{path.relative_to(project)} resolves outside the project, to {target}; "
                "an image's folder and Dockerfile must be inside the project folder"
            )
    return dockerfile.is_file()
