"""The KPI registry, schema half: one definition per KPI kind a contract term may name, and every fact about it
that contracts, statements, dashboards and metrics read (names, titles, unit, direction, options, definition).

How events contribute to each KPI, which events settle a ticket clock and how a KPI is forecast live with the same
KPI in `streams.core.kpis` (the pure contract layer cannot import the core); the core refuses to start unless both
halves name the same KPIs. Adding a KPI: one `KpiSpec` here, one `KpiKind` there, and their tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["calls", "tickets", "surveys", "availability"]
Unit = Literal["ratio", "seconds", "points", "score"]
Measure = Literal["offered", "answered", "ended", "tickets", "complaints", "measured_seconds", "surveys", "messages"]
"""What a KPI's denominator counts (the volume its window records carry), as statements name it."""
Level = Literal["threshold", "warning"]

LEVEL_RANGES: dict[str, tuple[float, float]] = {"ratio": (0.0, 1.0), "seconds": (0.0, 1e9), "points": (0.0, 1e6),
                                                "score": (-100.0, 100.0)}
"""Valid threshold and warning levels of each unit."""

CALL_OPTIONS = frozenset({"queues", "short_abandon_seconds", "aggregate"})
QUEUES = frozenset({"queues", "aggregate"})
TICKET_OPTIONS = frozenset({"categories", "priorities", "within", "channels", "targets_by_priority", "pause_on",
                            "pause_on_events", "warn_at"})
SOLVED_OPTIONS = TICKET_OPTIONS | {"on_reopen"}
"""Ticket KPIs whose clock stops at a solution (resolved, closed): a reopen concerns them (`on_reopen`)."""
WITHIN = frozenset({"within"})
SURVEY_FILTERS = frozenset({"categories", "channels"})
"""Which surveys a survey term counts: by the `category` and `channel` the survey carries."""
SCALED = SURVEY_FILTERS | {"scale", "scale_max"}
"""Survey KPIs read on the term's points scale (a score outside it is dead-lettered, not counted)."""
STAFFING = frozenset({"queues", "min_agents", "count"})
"""A staffing floor: how many agents (`min_agents`) in which state (`count`: logged_in, the default, or ready)."""


@dataclass(frozen=True, kw_only=True)
class KpiSpec:
    """What a KPI kind measures, how it is named and which term fields it takes."""

    name: str
    """The `kpi:` of a term, and the middle of its metric names (`cckpi_<name>_<unit>`)."""
    title_zh: str
    """Chinese title, in the seed contracts' wording (statements, dashboards)."""
    title_en: str
    """English title (statements, dashboards, metric help, alerts)."""
    source: Source
    """The event family it is computed from."""
    unit: Unit
    higher_is_better: bool
    """True when it breaches below the threshold (rates), False when above (times, abandons)."""
    options: frozenset[str]
    """Term fields it takes (see `streams.contracts.checks.OPTION_FIELDS`)."""
    definition: str
    """One line: numerator / denominator (README, dashboard panel descriptions)."""
    measure: Measure
    required: frozenset[str] = frozenset()
    """Options a term of this KPI must give."""
    min_window_seconds: int = 60
    """The shortest window a term may judge it over."""
    default_categories: tuple[str, ...] = ()
    """Tickets: the categories counted when the term names none."""
    default_scale: tuple[float, float] | None = None
    """Surveys: the points scale (min, max) when the term declares none (`scale`, `scale_max`); None: no default,
    any points the event schema takes count."""

    @property
    def title(self) -> str:
        """English title (metric help and alerts are in English)."""
        return self.title_en

    @property
    def titles(self) -> str:
        """Both titles, as dashboards show them: `接听率 Answer rate`."""
        return f"{self.title_zh} {self.title_en}"

    def title_in(self, language: Literal["zh", "en"]) -> str:
        """The title in a statement's language."""
        return self.title_zh if language == "zh" else self.title_en

    @property
    def level_range(self) -> tuple[float, float]:
        """Valid range of threshold and warning levels."""
        return LEVEL_RANGES[self.unit]

    def metric(self, level: Level | None = None) -> str:
        """Its Prometheus gauge: the value (`cckpi_answer_rate_ratio`) or a contract level
        (`cckpi_answer_rate_threshold_ratio`)."""
        return f"cckpi_{self.name}_{level}_{self.unit}" if level else f"cckpi_{self.name}_{self.unit}"


def _catalog(*specs: KpiSpec) -> dict[str, KpiSpec]:
    """The specs by name; a name given twice or a required option the KPI does not take is a programming error."""
    catalog: dict[str, KpiSpec] = {}
    for spec in specs:
        if spec.name in catalog:
            raise ValueError(f"KPI {spec.name!r} is defined twice")
        if not spec.required <= spec.options:
            missing = sorted(spec.required - spec.options)
            raise ValueError(f"KPI {spec.name!r} requires options it does not take: {missing}")
        catalog[spec.name] = spec
    return catalog


CATALOG: dict[str, KpiSpec] = _catalog(
    KpiSpec(name="answer_rate", title_zh="接听率", title_en="Answer rate", source="calls", unit="ratio",
            higher_is_better=True, options=CALL_OPTIONS, measure="offered",
            definition="answered / (answered + abandoned), by offer time"),
    KpiSpec(name="service_level", title_zh="服务水平", title_en="Service level", source="calls", unit="ratio",
            higher_is_better=True, options=CALL_OPTIONS | {"answer_within_seconds", "abandons_within_target_good"},
            required=frozenset({"answer_within_seconds"}), measure="offered",
            definition="answered within T (+ abandons within T if counted good) / (answered + abandoned)"),
    KpiSpec(name="abandon_rate", title_zh="放弃率", title_en="Abandon rate", source="calls", unit="ratio",
            higher_is_better=False, options=CALL_OPTIONS, measure="offered",
            definition="abandoned / (answered + abandoned), by offer time"),
    KpiSpec(name="asa", title_zh="平均应答速度", title_en="Average speed of answer", source="calls", unit="seconds",
            higher_is_better=False, options=QUEUES, measure="answered",
            definition="mean queue wait of answered calls"),
    KpiSpec(name="avg_talk_time", title_zh="平均通话时长", title_en="Average talk time", source="calls",
            unit="seconds", higher_is_better=False, options=QUEUES, measure="ended",
            definition="mean talk seconds of ended calls, by offer time (else end time)"),
    KpiSpec(name="avg_handle_time", title_zh="平均处理时长", title_en="Average handle time", source="calls",
            unit="seconds", higher_is_better=False, options=QUEUES, measure="ended",
            definition="mean talk + hold + wrap seconds of ended calls, by offer time (else end time)"),
    KpiSpec(name="first_response_within", title_zh="首次响应及时率", title_en="First response in time",
            source="tickets", unit="ratio", higher_is_better=True, options=TICKET_OPTIONS, required=WITHIN,
            min_window_seconds=3600, measure="tickets",
            definition="tickets whose first response came within `within` / tickets created"),
    KpiSpec(name="solved_or_updated_within", title_zh="解决或更新及时率", title_en="Solved or updated in time",
            source="tickets", unit="ratio", higher_is_better=True, options=TICKET_OPTIONS, required=WITHIN,
            min_window_seconds=3600, measure="tickets",
            definition="tickets solved or given a progress update within `within` / tickets created"),
    KpiSpec(name="resolution_within", title_zh="问题解决及时率", title_en="Resolution in time", source="tickets",
            unit="ratio", higher_is_better=True, options=SOLVED_OPTIONS, required=WITHIN,
            min_window_seconds=86400, measure="tickets",
            definition="tickets resolved within `within` / tickets created"),
    KpiSpec(name="complaints_closed_within", title_zh="投诉办结及时率", title_en="Complaints closed in time",
            source="tickets", unit="ratio", higher_is_better=True, options=SOLVED_OPTIONS, required=WITHIN,
            min_window_seconds=86400, measure="complaints", default_categories=("complaint",),
            definition="complaints closed within `within` / complaints created (categories default to complaint)"),
    KpiSpec(name="updated_every", title_zh="定期更新及时率", title_en="Updated regularly", source="tickets",
            unit="ratio", higher_is_better=True, options=SOLVED_OPTIONS, required=WITHIN, min_window_seconds=3600,
            measure="tickets", definition="tickets never longer than `within` without an update while open (creation "
            "to first update, update to update, last update to solution) / tickets created"),
    KpiSpec(name="next_reply_within", title_zh="后续回复及时率", title_en="Next reply in time", source="tickets",
            unit="ratio", higher_is_better=True, options=TICKET_OPTIONS, required=WITHIN, min_window_seconds=3600,
            measure="messages", definition="customer messages (`ticket.customer_replied`; the oldest unanswered "
            "one) answered by an agent reply within `within` / customer messages"),
    KpiSpec(name="availability", title_zh="服务可用性", title_en="Availability", source="availability",
            unit="ratio", higher_is_better=True, options=frozenset({"services", "aggregate"}), min_window_seconds=3600,
            measure="measured_seconds", definition="up seconds / measured seconds (exclusions left out) of the "
            "services, pooled or per service"),
    KpiSpec(name="csat_average", title_zh="客户满意度", title_en="Average satisfaction", source="surveys",
            unit="points", higher_is_better=True, options=SCALED, min_window_seconds=86400,
            measure="surveys", definition="mean CSAT points of submitted surveys"),
    KpiSpec(name="share_satisfied", title_zh="用户满意率", title_en="Share satisfied", source="surveys",
            unit="ratio", higher_is_better=True, options=SCALED | {"satisfied_at"},
            required=frozenset({"satisfied_at"}), min_window_seconds=86400, measure="surveys",
            default_scale=(1.0, 5.0),
            definition="surveys scoring `satisfied_at` or more on the scale (default 1..5) / submitted surveys"),
    KpiSpec(name="nps", title_zh="净推荐值", title_en="Net promoter score", source="surveys", unit="score",
            higher_is_better=True, options=SURVEY_FILTERS, min_window_seconds=86400, measure="surveys",
            definition="% promoters (9-10) - % detractors (0-6) of submitted surveys"),
    KpiSpec(name="first_contact_resolution", title_zh="首次解决率", title_en="First-contact resolution",
            source="calls", unit="ratio", higher_is_better=True, options=QUEUES, measure="ended",
            definition="ended calls resolved at first contact / ended calls that say (`resolved_first_contact`)"),
    KpiSpec(name="staffing_floor", title_zh="在线坐席达标率", title_en="Staffing floor", source="calls",
            unit="ratio", higher_is_better=True, options=STAFFING, required=frozenset({"min_agents"}),
            measure="measured_seconds", definition="measured seconds with at least `min_agents` agents logged in "
            "(or ready, `count`) / measured seconds, per queue"),
)
"""Every KPI kind, by name, in the order contracts, dashboards and documentation list them."""
