"""The statement as CSV files with stable English column names (for spreadsheets and the other party's checks).

Values are written at full precision (Python's shortest exact float text), so they parse back to the published
numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from streams.contracts.model import local_instant
from streams.core.penalties import describe_penalty
from streams.report.statement import Statement


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def _terms(s: Statement) -> Iterable[list[Any]]:
    for t in s.terms:
        term, penalty = t.term, t.term.penalty
        for sc in t.scopes:
            yield [s.contract.id, s.period.label, term.id, term.clause, term.kpi, t.spec.unit, term.threshold,
                   term.warning, term.window if isinstance(term.window, str) else f"rolling {term.window.rolling}",
                   term.min_volume, penalty.rate if penalty else None, penalty.currency if penalty else None,
                   describe_penalty(penalty) if penalty else None,
                   sc.scope, len(sc.windows), sc.met, sc.breached, sc.insufficient, sc.numerator, sc.denominator,
                   sc.value, sc.attainment]


def write_csv(s: Statement, out: Path) -> list[Path]:
    """Write terms, windows, breaches, settlement lines, cures, fees, volumes, totals, escalations, revisions,
    tickets, exclusions and inputs CSV files."""
    tz = ZoneInfo(s.contract.timezone)
    window_header = ["key", "contract", "term", "kpi", "unit", "scope", "window_start", "window_end", "value",
                     "numerator", "denominator", "threshold", "warning", "status", "revision", "closed_by"]
    paths = [
        _write(out / "terms.csv", ["contract", "period", "term", "clause", "kpi", "unit", "threshold", "warning",
                                   "window", "min_volume", "penalty_amount", "penalty_currency", "penalty", "scope",
                                   "windows",
                                   "windows_met", "windows_breached", "windows_insufficient_volume",
                                   "period_numerator", "period_denominator", "period_value", "attainment"],
               _terms(s)),
        _write(out / "windows.csv", window_header,
               ([w.to_dict()[k] for k in window_header] for t in s.terms for w in t.windows)),
        _write(out / "breaches.csv", ["breach_id", "term", "kpi", "scope", "window_start", "window_end", "value",
                                      "numerator", "denominator", "threshold", "revision", "since", "amount",
                                      "currency", "sample_event_ids"],
               ([b.entry.breach_id, b.entry.term, b.entry.kpi, b.entry.scope, b.entry.window_start,
                 b.entry.window_end, b.entry.value, b.numerator, b.denominator, b.entry.threshold, b.entry.revision,
                 b.since, b.entry.amount, b.entry.currency, " ".join(b.sample)] for b in s.breaches)),
        _write(out / "settlement.csv", ["booked_in", "kind", "breach_id", "term", "kpi", "scope", "window_start",
                                        "window_end", "value", "threshold", "formula", "uncapped", "capped_by",
                                        "cure", "amount", "currency"],
               ([e.booked_in, e.kind, e.breach_id, e.term, e.kpi, e.scope, e.window_start, e.window_end, e.value,
                 e.threshold, e.formula, e.uncapped, e.caps_text, e.cure.rule if e.cure else None, e.amount,
                 e.currency] for e in s.settlement)),
        _write(out / "cures.csv", ["breach_id", "term", "scope", "window_start", "window_end", "rule", "outcome",
                                   "decided_by", "booked_in"],
               ([c.breach_id, c.term, c.scope, c.window_start, c.window_end, c.rule, c.outcome, c.decided_by,
                 c.booked_in] for c in s.cures)),
        _write(out / "fees.csv", ["fee", "amount", "seats", "currency", "period", "fee_per_period"],
               ([f.id, f.amount, f.seats, f.currency, f.period, f.total] for f in s.contract.fees)),
        _write(out / "volumes.csv", ["channel", "scope", "measure", "terms", "volume"],
               ([source, scope, col.measure, " ".join(col.terms), value]
                for source, scope, values in s.volumes.rows
                for col, value in zip(s.volumes.columns, values, strict=True) if col.source == source)),
        _write(out / "totals.csv", ["contract", "period", "currency", "amount", "breaches"],
               ([s.contract.id, s.period.label, currency, amount,
                 sum(e.currency == currency for e in s.settlement)] for currency, amount in s.totals.items())),
        _write(out / "escalations.csv", ["term", "period", "breaches", "after_breaches", "right", "reached",
                                         "reached_by"],
               ([x.term or "*", x.period, x.breaches, x.after_breaches, x.right, x.reached, x.reached_by]
                for x in s.escalations)),
        _write(out / "revisions.csv", ["key", "term", "scope", "window_start", "revision_before", "revision_after",
                                       "value_before", "value_after", "numerator_before", "numerator_after",
                                       "denominator_before", "denominator_after", "status_before", "status_after",
                                       "closed_by", "published_at", "after_period_end"],
               ([r.after.key, r.after.term, r.after.scope, r.after.window_start, r.before.revision,
                 r.after.revision, r.before.value, r.after.value, r.before.numerator, r.after.numerator,
                 r.before.denominator, r.after.denominator, r.before.status, r.after.status, r.after.closed_by,
                 r.published_at.isoformat() if r.published_at else None, r.after_period_end]
                for r in s.revisions)),
        _write(out / "tickets.csv", ["term", "ticket_id", "created_at", "deadline", "settled_by",
                                     "still_open"],
               (list(asdict(m).values()) for m in s.ticket_misses)),
        _write(out / "exclusions.csv", ["from", "until", "kind", "reason", "services"],
               ([local_instant(e.from_, tz).isoformat(), local_instant(e.until, tz).isoformat(), e.kind, e.reason,
                 " ".join(e.services or ["*"])] for e in s.exclusions)),
        _write(out / "inputs.csv", ["name", "kind", "size", "sha256"],
               [*(list(asdict(d).values()) for d in s.inputs), ["(all inputs)", "combined", "", s.digest]]),
    ]
    return paths
