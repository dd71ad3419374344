"""Breach annotations on Grafana dashboards (grafana-client): each window that closed breached, or each ticket
past its deadline, becomes one annotation tagged with contract, term, scope and severity."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from grafana_client import GrafanaApi

from streams.ledger.book import final_breaches


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def breach_annotations(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Annotation payloads for the final breaches (latest revision per breach) and ticket deadline misses."""
    records = list(records)
    out = []
    for r in final_breaches(records):
        out.append({
            "time_from": _ms(r["window_start"]), "time_to": _ms(r["window_end"]),
            "tags": ["cckpi", "breach", r["contract"], r["term"], r["scope"]],
            "text": f"{r['contract']}/{r['term']} {r['scope']}: {r['value']:.4g} vs {r['threshold']:g} "
                    f"(breach {r['breach_id']}, revision {r['revision']})",
        })
    seen = set()
    for r in records:
        if r.get("kind") == "ticket" and r["breach_id"] not in seen:
            seen.add(r["breach_id"])
            out.append({
                "time_from": _ms(r["deadline"]), "time_to": _ms(r["deadline"]),
                "tags": ["cckpi", "ticket", r["contract"], r["term"]],
                "text": f"ticket {r['ticket_id']} missed {r['contract']}/{r['term']} (deadline {r['deadline']})",
            })
    return out


def annotate(api: GrafanaApi, records: Iterable[dict[str, Any]], dashboard_uid: str | None = None) -> int:
    """Post the annotations; returns how many were created."""
    created = 0
    for a in breach_annotations(records):
        api.annotations.add_annotation(dashboard_uid=dashboard_uid, **a)
        created += 1
    return created
