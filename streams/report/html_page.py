"""The statement as one self-contained HTML page: inline CSS and SVG charts, no scripts, nothing fetched."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from streams.core.penalties import describe_penalty
from streams.report.charts import Levels, Point, bar_chart, line_chart
from streams.report.labels import fmt_count, fmt_money, fmt_time, fmt_value, kpi_name, label
from streams.report.statement import Statement, TermResult

_CSS = """
body { font-family: "Noto Sans", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; color: #212121;
       margin: 24px auto; max-width: 1180px; font-size: 14px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; border-bottom: 2px solid #1565c0;
  padding-bottom: 3px; margin-top: 28px; } h3 { font-size: 15px; margin: 20px 0 6px; }
table { border-collapse: collapse; margin: 6px 0 10px; } th, td { border: 1px solid #d0d0d0; padding: 3px 7px;
  text-align: left; vertical-align: top; } th { background: #f1f4f8; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.met { color: #2e7d32; } .breached { color: #c62828; font-weight: 600; } .insufficient_volume, .no_data
{ color: #757575; }
td.met { background: #edf7ee; } td.breached { background: #fdecea; } td.insufficient_volume { background: #f5f5f5; }
.cards { display: flex; gap: 12px; margin: 12px 0; flex-wrap: wrap; }
.card { border: 1px solid #d0d0d0; border-radius: 6px; padding: 8px 14px; min-width: 180px; }
.card .big { font-size: 22px; font-weight: 700; } .card .small { color: #555; font-size: 12px; }
.meta td { border: none; padding: 1px 14px 1px 0; } .note { color: #555; font-size: 12px; }
code, .digest { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
.matrix td { font-size: 12px; padding: 1px 5px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 18px; }
.charts figure { margin: 0; } .charts figcaption { font-weight: 600; font-size: 13px; margin: 6px 0 2px; }
svg { width: 100%; height: auto; } .single { max-width: 600px; }
td.time { white-space: nowrap; } td.ids code { font-size: 10px; }
@page { size: A4; margin: 12mm; } @media print { body { margin: 0; max-width: none; } svg { max-width: 100%; } }
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table from already escaped cells; a cell starting with `<td` is taken as written."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _num(text: str, cls: str = "") -> str:
    return f'<td class="num {cls}">{escape(text)}</td>'


def _time(when: str | datetime) -> str:
    return f'<td class="time">{escape(fmt_time(when))}</td>'


def _status(s: Statement, status: str) -> str:
    return f'<span class="{status}">{escape(label(status, s.language))}</span>'


def _header(s: Statement) -> str:
    c, lang = s.contract, s.language
    rows = [(label("contract", lang), f"{escape(c.name)} (<code>{escape(c.id)}</code>)"),
            (label("period", lang), f"{escape(s.period.label)}: {fmt_time(s.period.start)} – "
                                    f"{fmt_time(s.period.end)} ({escape(c.timezone)})")]
    if c.parties:
        rows += [(label("client", lang), escape(c.parties.client)), (label("vendor", lang), escape(c.parties.vendor))]
    if c.effective_from or c.effective_until:
        rows.append((label("effective", lang), f"{c.effective_from or ''} – {c.effective_until or ''}"))
    meta = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f'<h1>{escape(label("title", lang))}</h1><table class="meta">{meta}</table>'


def _summary(s: Statement) -> str:
    lang = s.language
    total = ", ".join(fmt_money(a, cur) for cur, a in s.totals.items()) or label("no_penalty", lang)
    breached = [t for t in s.terms if t.attainment == "breached"]
    reached = [x for x in s.escalations if x.reached]
    escalation = ("; ".join(f"{x.right} ({x.breaches}/{x.after_breaches}, {x.period})" for x in reached)
                  or label("not_reached", lang))
    cards = [(label("penalty_total", lang), total, ""),
             (label("breaches_booked", lang), str(len(s.breaches)),
              label("with_penalty", lang).format(n=sum(b.entry.amount > 0 for b in s.breaches))),
             (label("terms_breached", lang), f"{len(breached)} / {len(s.terms)}",
              ", ".join(t.term.id for t in breached)),
             (label("escalation", lang), escalation, "")]
    html = "".join(f'<div class="card"><div class="small">{escape(k)}</div><div class="big">{escape(v)}</div>'
                   f'<div class="small">{escape(extra)}</div></div>' for k, v, extra in cards)
    return f'<div class="cards">{html}</div><p class="note">{escape(label("numbers_note", lang))}</p>'


def _levels(t: TermResult, s: Statement) -> Levels:
    return Levels(t.term.threshold, t.term.warning, t.spec.unit, label("chart_threshold", s.language))


def _window_text(t: TermResult) -> str:
    return t.term.window if isinstance(t.term.window, str) else f"rolling {t.term.window.rolling}"


def _terms(s: Statement) -> str:
    lang = s.language
    rows = []
    for t in s.terms:
        unit, penalty = t.spec.unit, t.term.penalty
        rows.append([f'<a href="#term-{escape(t.term.id)}">{escape(t.term.id)}</a>', escape(t.term.clause or ""),
                     escape(kpi_name(t.term.kpi, lang)), _num(fmt_value(t.term.threshold, unit)),
                     _num(fmt_value(t.term.warning, unit)), escape(_window_text(t)),
                     escape(describe_penalty(penalty) if penalty else "-"),
                     _num(str(sum(sc.met for sc in t.scopes)), "met"),
                     _num(str(sum(sc.breached for sc in t.scopes)), "breached"),
                     _num(str(sum(sc.insufficient for sc in t.scopes))), _status(s, t.attainment)])
    header = [label(k, lang) for k in ("term", "clause", "kpi", "threshold", "warning", "window", "penalty",
                                       "windows_met", "windows_breached", "windows_insufficient", "attainment")]
    return f"<h2>{escape(label('terms', lang))}</h2>" + _table(header, rows)


def _units(s: Statement) -> dict[str, str]:
    return {t.term.id: t.spec.unit for t in s.terms}


def _section(s: Statement, title: str, empty: str, items: Sequence[object], body: Callable[[], str]) -> str:
    """A titled section: its body, or a sentence saying there is nothing to show."""
    head = f"<h2>{escape(label(title, s.language))}</h2>"
    return head + (body() if items else f"<p>{escape(label(empty, s.language))}</p>")


def _breaches(s: Statement) -> str:
    return _section(s, "breaches", "no_breaches", s.breaches, lambda: _breach_table(s))


def _breach_table(s: Statement) -> str:
    lang, units = s.language, _units(s)
    tz = ZoneInfo(s.contract.timezone)
    rows = [[escape(b.entry.term), escape(b.entry.scope), _time(b.entry.window_start), _time(b.entry.window_end),
             _num(fmt_value(b.entry.value, units[b.entry.term]), "breached"),
             _num(f"{fmt_count(b.numerator)} / {fmt_count(b.denominator)}"),
             _num(fmt_value(b.entry.threshold, units[b.entry.term])),
             _num("-" if b.entry.revision is None else str(b.entry.revision)),
             _time(datetime.fromisoformat(b.since).astimezone(tz)) if b.since else "-",
             f'<td class="ids"><code>{escape(" ".join(b.sample))}</code></td>',
             _num(fmt_money(b.entry.amount, b.entry.currency) if b.entry.currency else "-")] for b in s.breaches]
    header = [label(k, lang) for k in ("term", "queue", "start", "end", "value", "num_den", "threshold", "revision",
                                       "since", "evidence", "amount")]
    totals = "".join(f"<p><b>{escape(label('penalty_total', lang))}: {escape(fmt_money(a, cur))}</b></p>"
                     for cur, a in s.totals.items())
    return _table(header, rows) + f'<p class="note">{escape(label("revision_note", lang))}</p>' + totals


def _fees(s: Statement) -> str:
    """The contract's fees (服务费), the base of penalties and caps given as a percentage."""
    if not s.contract.fees:
        return ""
    lang = s.language
    rows = [[escape(f.id), _num(fmt_money(f.amount, f.currency)), _num(str(f.seats or "-")), escape(f.period),
             _num(fmt_money(f.total, f.currency))] for f in s.contract.fees]
    header = [label(k, lang) for k in ("fee", "amount", "seats", "period", "fee_total")]
    return f"<h2>{escape(label('fees', lang))}</h2>" + _table(header, rows)


def _settlement(s: Statement) -> str:
    """Every penalty line booked in the period: its formula with its inputs, the caps applied, the amount."""
    lang = s.language
    rows = [[escape(e.booked_in), escape(e.term), escape(e.scope), _time(e.window_start), escape(e.formula or "-"),
             _num(fmt_money(e.uncapped, e.currency) if e.currency else "-"), escape(e.caps_text or "-"),
             escape(e.cure.rule if e.cure else "-"),
             _num(fmt_money(e.amount, e.currency) if e.currency else "-")] for e in s.settlement]
    header = [label(k, lang) for k in ("booked_in", "term", "queue", "start", "formula", "uncapped", "caps", "cure",
                                       "amount")]
    return _section(s, "settlement", "no_breaches", s.settlement, lambda: _table(header, rows))


def _cures(s: Statement) -> str:
    """Breaches in a cure period (限期整改): pending, cured (not booked) or failed (booked, and when)."""
    if not s.cures:
        return ""
    lang = s.language
    rows = [[escape(c.term), escape(c.scope), _time(c.window_start), escape(c.rule), escape(label(c.outcome, lang)),
             escape(c.decided_by or "-"), escape(c.booked_in or "-")] for c in s.cures]
    header = [label(k, lang) for k in ("term", "queue", "start", "cure", "status", "decided_by", "booked_in")]
    return f"<h2>{escape(label('cures', lang))}</h2>" + _table(header, rows)


def _escalations(s: Statement) -> str:
    lang = s.language
    if not s.escalations:
        return ""
    rows = [[escape(x.term or label("whole_contract", lang)), escape(x.period),
             _num(f"{x.breaches} / {x.after_breaches}"), escape(x.right),
             f'<span class="breached">{escape(label("reached", lang))}</span>' if x.reached
             else escape(label("not_reached", lang))] for x in s.escalations]
    header = [label("term", lang), label("period", lang), label("breaches_booked", lang), label("escalation", lang),
              label("status", lang)]
    return f"<h2>{escape(label('escalations', lang))}</h2>" + _table(header, rows)


def _volumes(s: Statement) -> str:
    lang, v = s.language, s.volumes
    if not v.columns:
        return ""
    parts = [f"<h2>{escape(label('volumes', lang))}</h2>"]
    first = v.columns[0]
    bars = [(scope, values[0], "") for source, scope, values in v.rows if source == first.source]
    chart = bar_chart(bars, None, "count", f"{label('volumes', lang)}: {label(first.measure, lang)}")
    parts.append(f'<div class="single">{chart}</div>')
    header = [label("channel", lang), label("queue", lang)] + [
        f"{escape(label(c.measure, lang))}<br><span class='note'>{escape(', '.join(c.terms))}</span>"
        for c in v.columns]
    rows = [[escape(label(source, lang)), escape(scope)] + [
        _num(fmt_count(value)) if col.source == source else "" for col, value in zip(v.columns, values, strict=True)]
        for source, scope, values in v.rows]
    return "".join(parts) + _table(header, rows)


def _revisions(s: Statement) -> str:
    return _section(s, "revisions", "no_revisions", s.revisions, lambda: _revision_table(s))


def _revision_table(s: Statement) -> str:
    lang, units = s.language, _units(s)
    rows = []
    for r in s.revisions:
        unit = units.get(r.after.term, r.after.unit)
        why = label("late_why", lang).format(den=r.after.denominator - r.before.denominator,
                                              num=r.after.numerator - r.before.numerator)
        when = fmt_time(r.published_at) if r.published_at else label("in_batch", lang)
        if r.after_period_end:
            when += f" ({label('after_period_end', lang)})"
        rows.append([escape(r.after.term), escape(r.after.scope), escape(fmt_time(r.after.window_start)),
                     _num(f"{r.before.revision} → {r.after.revision}"),
                     _num(f"{fmt_value(r.before.value, unit)} ({label(r.before.status, lang)})"),
                     _num(f"{fmt_value(r.after.value, unit)} ({label(r.after.status, lang)})", r.after.status),
                     escape(why), escape(when)])
    header = [label(k, lang) for k in ("term", "queue", "start", "revision", "before", "after", "why", "published")]
    return _table(header, rows)


def _chart(t: TermResult, s: Statement) -> str:
    title = f"{t.term.id}: {kpi_name(t.term.kpi, s.language)}"
    if all(len(sc.windows) <= 1 for sc in t.scopes):
        bars = [(sc.scope, sc.windows[0].value if sc.windows else None, sc.attainment) for sc in t.scopes]
        return bar_chart(bars, _levels(t, s), t.spec.unit, title)
    series = [(sc.scope, [Point(datetime.fromisoformat(w.window_start), w.value, w.status) for w in sc.windows])
              for sc in t.scopes]
    return line_chart(series, s.period.start, s.period.end, _levels(t, s), title)


def _term_detail(t: TermResult, s: Statement) -> str:
    lang, unit = s.language, t.spec.unit
    desc = escape(t.term.description or "")
    head = (f'<h3 id="term-{escape(t.term.id)}">{escape(t.term.id)} · {escape(kpi_name(t.term.kpi, lang))} · '
            f'{escape(label("threshold", lang))} {escape(fmt_value(t.term.threshold, unit))} · '
            f'{escape(label("window", lang))} {escape(_window_text(t))}</h3><p class="note">{desc}</p>')
    scope_rows = [[escape(sc.scope), _num(fmt_value(sc.value, unit)),
                   _num(f"{fmt_count(sc.numerator)} / {fmt_count(sc.denominator)}"), _num(str(sc.met)),
                   _num(str(sc.breached)), _num(str(sc.insufficient)), _status(s, sc.attainment)] for sc in t.scopes]
    scopes = _table([label(k, lang) for k in ("queue", "period_value", "num_den", "windows_met", "windows_breached",
                                              "windows_insufficient", "attainment")], scope_rows)
    starts = sorted({w.window_start for w in t.windows})
    cells = {(w.window_start, w.scope): w for w in t.windows}
    matrix_rows = []
    for start in starts:
        row = [escape(fmt_time(start))]
        for sc in t.scopes:
            w = cells.get((start, sc.scope))
            if w is None:
                row.append("<td></td>")
                continue
            rev = f" r{w.revision}" if w.revision else ""
            tip = f"{fmt_count(w.numerator)} / {fmt_count(w.denominator)} · {label(w.status, lang)}{rev}"
            row.append(f'<td class="num {w.status}" title="{escape(tip)}">{escape(fmt_value(w.value, unit))}'
                       f'{escape(rev)}</td>')
        matrix_rows.append(row)
    matrix = _table([escape(label("start", lang))] + [escape(sc.scope) for sc in t.scopes], matrix_rows, "matrix")
    return head + scopes + matrix


def _charts(s: Statement) -> str:
    """One chart per term: values per window and queue against the threshold (breached windows in red)."""
    figures = "".join(f'<figure><figcaption>{escape(t.term.id)} · {escape(kpi_name(t.term.kpi, s.language))}'
                      f'</figcaption>{_chart(t, s)}</figure>' for t in s.terms)
    return f'<h2>{escape(label("charts", s.language))}</h2><div class="charts">{figures}</div>'


def _tickets(s: Statement) -> str:
    lang = s.language
    if not s.ticket_misses:
        return ""
    rows = [[escape(m.term), escape(m.ticket_id), escape(fmt_time(m.created_at)), escape(fmt_time(m.deadline)),
             escape(m.settled_by + (f" ({label('still_open', lang)})" if m.still_open else ""))]
            for m in s.ticket_misses]
    header = [label(k, lang) for k in ("term", "ticket", "created", "deadline", "settled_by")]
    return f"<h2>{escape(label('ticket_misses', lang))} ({len(rows)})</h2>" + _table(header, rows)


def _exclusions(s: Statement) -> str:
    """Maintenance and force-majeure periods applied to availability terms (none: nothing shown)."""
    lang = s.language
    if not s.exclusions:
        return ""
    rows = [[escape(fmt_time(e.from_)), escape(fmt_time(e.until)), escape(label(e.kind, lang)), escape(e.reason),
             escape(", ".join(e.services) if e.services else label("all_services", lang))] for e in s.exclusions]
    header = [label(k, lang) for k in ("from", "until", "kind", "why", "services")]
    return f"<h2>{escape(label('exclusions', lang))} ({len(rows)})</h2>" + _table(header, rows)


def _inputs(s: Statement, command: str) -> str:
    lang = s.language
    rows = [[escape(d.name), escape(d.kind), _num(f"{d.size:,}"), f'<span class="digest">{d.sha256}</span>']
            for d in s.inputs]
    return (f"<h2>{escape(label('inputs', lang))}</h2>"
            + _table([label(k, lang) for k in ("input", "kind", "size")] + ["sha256"], rows)
            + f"<p><b>{escape(label('digest', lang))}</b>: <span class='digest' id='digest'>{s.digest}</span></p>"
            + f"<p>{escape(label('reproduce', lang))}<br><code>{escape(command)}</code></p>")


def render_html(s: Statement, command: str) -> str:
    """The whole statement page; `command` is the `cckpi report` invocation that reproduces it."""
    lang = "zh-CN" if s.language == "zh" else "en"
    title = f"{label('title', s.language)} · {s.contract.name} · {s.period.label}"
    body = [_header(s), _summary(s), _terms(s), _charts(s), _breaches(s), _fees(s), _settlement(s), _cures(s),
            _escalations(s), _volumes(s),
            _revisions(s),
            f"<h2>{escape(label('windows_of', s.language))}</h2>",
            *(_term_detail(t, s) for t in s.terms), _tickets(s), _exclusions(s), _inputs(s, command)]
    return (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")
