"""Upload dashboards to a Grafana server with grafana-client (POST /api/dashboards/db, overwrite by uid)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grafana_client import GrafanaApi

from streams.dashboards.panels import Json


@dataclass(frozen=True)
class Published:
    """One dashboard as Grafana stored it."""

    name: str
    uid: str
    url: str
    version: int | None


def folder_uid(api: GrafanaApi, title: str) -> str:
    """The uid of the folder with this title, created if missing."""
    for folder in api.folder.get_all_folders():
        if folder.get("title") == title:
            return str(folder["uid"])
    return str(api.folder.create_folder(title)["uid"])


def publish(dashboards: Mapping[str, Json], url: str, token: str | None = None, folder: str | None = None,
            message: str = "cckpi dashboards publish", timeout: float = 10.0) -> list[Published]:
    """Create or overwrite each dashboard (matched by uid), in `folder` (by title; created if missing) or in
    General. `token` is a Grafana service-account token (Bearer); without it the server must allow the call."""
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    target = folder_uid(api, folder) if folder else None
    published = []
    for name, board in dashboards.items():
        payload: dict[str, Any] = {"dashboard": {**board, "id": None}, "overwrite": True, "message": message}
        if target is not None:
            payload["folderUid"] = target
        answer = api.dashboard.update_dashboard(payload)
        published.append(Published(name, str(answer.get("uid", board["uid"])), str(answer.get("url", "")),
                                   answer.get("version")))
    return published
