"""On-call alerts: breach lifecycle events become Alertmanager alerts (POST /api/v2/alerts), one alert per
contract term, scope and severity; resolved on recovery or when a later window of the same term and scope closes
without a breach, re-sent while active so Alertmanager keeps them. A ticket warning (`warn_at`) fires one alert per
ticket and term, resolved when the ticket is settled or misses its deadline.

Routing, grouping and inhibition (a breach silences its own warning) are Alertmanager's job: see
`deploy/alertmanager/alertmanager.yml`. Credentials travel as an Authorization header and never appear in logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from streams.core.kpis import KPIS
from streams.core.records import BreachUpdate, TicketMissed, TicketWarning, WindowResult
from streams.sinks.base import Consumed, Handler, Send
from streams.sinks.credentials import HttpCredentials, redact_text, redact_url, split_userinfo

log = logging.getLogger(__name__)

FINAL_BREACH_TTL = timedelta(minutes=30)
"""How long a window that closed breached keeps its alert firing (the ledger keeps it for good)."""
SEVERITIES = ("warning", "breach")
FORECAST = ("forecast",)
"""Forecast warnings (the queue model projects a breach) are alerts of their own: observed steps leave them alone."""
ALERT_NAMES = {"breach": "CckpiTermBreach", "warning": "CckpiTermWarning", "forecast": "CckpiTermForecast"}
TICKET_ALERT = "CckpiTicketWarning"
"""A ticket past a declared share of a term's allowed time (`warn_at`): one alert per ticket and term."""
CREDENTIALS_ENV = "CCKPI_ALERTMANAGER"
"""Prefix of the credential variables: `_USERNAME` with `_PASSWORD` (or `_PASSWORD_FILE`), or `_TOKEN` (or
`_TOKEN_FILE`)."""


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if unit == "ratio" else f"{value:.1f} s" if unit == "seconds" else f"{value:g}"


def _ticket_alert(w: TicketWarning, now: datetime) -> dict[str, Any]:
    """The alert of a ticket warning (labels without the share, so a higher share updates the same alert)."""
    deadline = w.deadline or "paused"
    return {
        "labels": {"alertname": TICKET_ALERT, "contract": w.contract, "term": w.term, "kpi": w.kpi,
                   "ticket": w.ticket_id, "severity": "warning"},
        "annotations": {
            "summary": (f"ticket {w.ticket_id} passed {w.share:.0%} of its {KPIS[w.kpi].title} time "
                        f"({w.contract}/{w.term}), deadline {deadline}"),
            "share": f"{w.share:g}", "created": w.created_at, "deadline": deadline, "since": w.warned_at},
        "startsAt": min(datetime.fromisoformat(w.warned_at), now).isoformat(),
    }


class Firing(NamedTuple):
    """An active observed (or forecast) alert and the end of the window it is about: a later window closing clean
    resolves it."""

    alert: dict[str, Any]
    window_end: datetime


@dataclass
class AlertmanagerSink:
    """Keeps the alerts that should be firing and posts changes (and, periodically, all of them).

    `user:password@` in `url` is taken out of it into `credentials` (unless those are given), so neither the posted
    URL nor a log line carries it."""

    url: str
    dashboard_url: str | None = None
    resend_every: float = 60.0
    active: dict[tuple[str, str, str, str], Firing] = field(default_factory=dict)
    """Firing term alerts by (contract, term, scope, severity)."""
    tickets: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """Firing ticket warnings by (contract, term, ticket id): resolved when the ticket is settled or missed."""
    pending: list[dict[str, Any]] = field(default_factory=list)
    last_resend: float = 0.0
    credentials: HttpCredentials | None = None
    client: httpx.AsyncClient | None = field(default=None, repr=False)
    """The HTTP client `flush` posts with (made on the first flush when not given)."""

    def __post_init__(self) -> None:
        self.url, in_url = split_userinfo(self.url)
        self.credentials = self.credentials or in_url

    def routes(self) -> Mapping[type[Any], Handler]:
        """Breach lifecycle steps, and closed windows (a clean one after an alert's window resolves it)."""
        return {BreachUpdate: self.take, WindowResult: self.window, TicketWarning: self.ticket,
                TicketMissed: self.ticket}

    def take(self, update: BreachUpdate, sends: list[Send], msg: Consumed | None) -> None:
        """The sink interface's handler: see `on_update`."""
        self.on_update(update)

    def ticket(self, out: TicketWarning | TicketMissed, sends: list[Send], msg: Consumed | None) -> None:
        """The sink interface's handler: see `on_ticket`."""
        self.on_ticket(out)

    def on_ticket(self, out: TicketWarning | TicketMissed) -> None:
        """A ticket warning fires its ticket's alert (again, at a higher share); the warned ticket settling or
        missing its deadline resolves it."""
        key, now = (out.contract, out.term, out.ticket_id), datetime.now(UTC)
        if isinstance(out, TicketWarning) and out.state == "warning":
            alert = self.tickets[key] = _ticket_alert(out, now)
            self.pending.append(alert)
        elif key in self.tickets:
            self.pending.append({**self.tickets.pop(key), "endsAt": now.isoformat()})

    def window(self, result: WindowResult, sends: list[Send], msg: Consumed | None) -> None:
        """The sink interface's handler: see `on_window`."""
        self.on_window(result)

    def on_window(self, result: WindowResult) -> None:
        """A window that closed without a breach, later than an active alert's window, resolves that alert: the
        term is met again (without it, a window closing breached would fire until FINAL_BREACH_TTL)."""
        if result.status == "breached":
            return
        start = datetime.fromisoformat(result.window_start)
        now = datetime.now(UTC)
        for severity in SEVERITIES:
            key = (result.contract, result.term, result.scope, severity)
            if key in self.active and self.active[key].window_end <= start:
                self.pending.append({**self.active.pop(key).alert, "endsAt": now.isoformat()})

    def on_update(self, update: BreachUpdate) -> None:
        """Turn one lifecycle step into firing and resolved alerts."""
        now = datetime.now(UTC)
        severities = FORECAST if update.basis == "forecast" else SEVERITIES
        firing = update.severity if update.severity in severities else None
        for severity in severities:
            key = (update.contract, update.term, update.scope, severity)
            if severity == firing:
                alert = self._alert(update, severity, now)
                self.active[key] = Firing(alert, datetime.fromisoformat(update.window_end))
                self.pending.append(alert)
            elif key in self.active:  # recovered, or escalated from warning to breach (and back)
                self.pending.append({**self.active.pop(key).alert, "endsAt": now.isoformat()})

    def _alert(self, u: BreachUpdate, severity: str, now: datetime) -> dict[str, Any]:
        """The alert of a step; `startsAt` is the step's `since` but never later than now (event time may run ahead
        of the wall clock, in a simulator or a skewed source, and Alertmanager refuses an end before the start)."""
        kind = KPIS[u.kpi]
        value, threshold = _fmt(u.value, u.unit), _fmt(u.threshold, u.unit)
        sign = "<" if kind.higher_is_better else ">"
        summary = (f"{kind.title} {value} {sign} {threshold} ({u.contract}/{u.term}, {u.scope})"
                   if severity == "breach" else f"{kind.title} {value} at risk ({u.contract}/{u.term}, {u.scope})")
        if severity == "forecast":
            summary = (f"{kind.title} forecast to end at {value} {sign} {threshold} at the current staffing "
                       f"({u.contract}/{u.term}, {u.scope}, window ending {u.window_end})")
        alert: dict[str, Any] = {
            "labels": {"alertname": ALERT_NAMES[severity],
                       "contract": u.contract, "term": u.term, "scope": u.scope, "kpi": u.kpi, "severity": severity},
            "annotations": {
                "summary": summary,
                "value": value, "threshold": threshold, "warning": _fmt(u.warning, u.unit),
                "window": f"{u.window_start} .. {u.window_end}", "since": u.since,
                "state": u.state, "evidence": f"{u.numerator:g}/{u.denominator:g}" + (
                    f"; e.g. {', '.join(u.sample)}" if u.sample else " so far; value is the projection"),
            },
            "startsAt": min(datetime.fromisoformat(u.since), now).isoformat(),
        }
        if u.state == "final":
            alert["endsAt"] = (now + FINAL_BREACH_TTL).isoformat()
        link = self._dashboard(u)
        if link:
            alert["generatorURL"] = link
            alert["annotations"]["dashboard"] = link
        return alert

    def _dashboard(self, u: BreachUpdate) -> str | None:
        if not self.dashboard_url:
            return None
        return f"{self.dashboard_url}?{urlencode({'var-contract': u.contract, 'var-scope': u.scope})}"

    def due(self, now: float | None = None) -> list[dict[str, Any]]:
        """Alerts to post now: changes, plus every active alert when the resend interval has passed."""
        now = time.monotonic() if now is None else now
        batch, self.pending = self.pending, []
        if (self.active or self.tickets) and now - self.last_resend >= self.resend_every:
            self.last_resend = now
            firing = (*(f.alert for f in self.active.values()), *self.tickets.values())
            batch += [a for a in firing if a not in batch]
        return batch

    async def flush(self, client: httpx.AsyncClient | None = None) -> int:
        """Post what is due (with `client`, else the sink's own); on failure keep it for the next attempt. Returns
        how many were posted."""
        batch = self.due()
        if not batch:
            return 0
        if client is None:
            client = self.client = self.client or httpx.AsyncClient()
        headers = self.credentials.headers() if self.credentials else None
        try:
            response = await client.post(self._endpoint(), json=batch, headers=headers, timeout=5.0)
            if response.status_code == 400:  # Alertmanager refused some alert as invalid (it kept the valid ones):
                log.error("Alertmanager at %s refused %d alerts as invalid (not retried): %s",  # retrying cannot help
                          redact_url(self.url), len(batch), response.text.strip().splitlines()[0][:500])
                return 0
            response.raise_for_status()
        except httpx.HTTPError as exc:
            secrets = self.credentials.secrets() if self.credentials else ()
            reason = (str(exc) or type(exc).__name__).splitlines()[0]
            log.warning("Alertmanager at %s did not take %d alerts: %s", redact_url(self.url), len(batch),
                        redact_text(reason, secrets))
            self.pending = batch + self.pending
            return 0
        return len(batch)

    def _endpoint(self) -> str:
        """`/api/v2/alerts` under the base URL (its query, e.g. a proxy's, kept)."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/api/v2/alerts"))
