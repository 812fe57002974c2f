"""The services nodes reach files through: `FILES` (the run's owner's files, to read and to
keep) and `DOWNLOADS` (a URL fetched through the SSRF guard). Both are protocols of
`engine.files`; the gateway gives the implementations (engine/files/store.py, engine/net/client.py)."""

from __future__ import annotations

from engine.files import Downloader, RunFiles
from engine.workflow.nodes.base import ServiceKey

FILES: ServiceKey[RunFiles] = ServiceKey("files")
DOWNLOADS: ServiceKey[Downloader] = ServiceKey("downloads")
