"""Words of a statement in Chinese and English, and the formatting of values, amounts and times in them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from streams.contracts.kpis import CATALOG
from streams.report.statement import Language

LABELS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "title": ("服务水平结算报告", "Service level statement"),
    "contract": ("合同", "Contract"),
    "client": ("甲方(委托方)", "Client"),
    "vendor": ("乙方(服务方)", "Vendor"),
    "period": ("结算期间", "Period"),
    "timezone": ("时区", "Timezone"),
    "effective": ("合同有效期", "Contract in force"),
    "summary": ("概要", "Summary"),
    "penalty_total": ("违约金合计", "Penalties due"),
    "no_penalty": ("无", "none"),
    "breaches_booked": ("违约窗口数", "Breached windows"),
    "with_penalty": ("其中 {n} 次计违约金", "{n} with a penalty"),
    "charts": ("各条款走势", "Terms at a glance"),
    "terms_breached": ("未达标条款", "Terms breached"),
    "escalation": ("升级条款", "Escalation"),
    "escalations": ("升级条款状态", "Escalation state"),
    "reached": ("已触发", "reached"),
    "not_reached": ("未触发", "not reached"),
    "whole_contract": ("全部条款", "any term"),
    "volumes": ("服务量", "Service volume"),
    "channel": ("渠道", "Channel"),
    "queue": ("队列", "Queue"),
    "terms": ("服务水平条款", "Service level terms"),
    "term": ("条款", "Term"),
    "clause": ("合同条款", "Clause"),
    "kpi": ("指标", "KPI"),
    "threshold": ("达标线", "Threshold"),
    "warning": ("预警线", "Warning"),
    "window": ("考核窗口", "Window"),
    "min_volume": ("最低样本量", "Minimum volume"),
    "penalty": ("违约金", "Penalty"),
    "per_breach": ("每次", "per breach"),
    "period_value": ("期间值", "Period value"),
    "windows_met": ("达标窗口", "Windows met"),
    "windows_breached": ("未达标窗口", "Windows breached"),
    "windows_insufficient": ("样本不足窗口", "Insufficient volume"),
    "attainment": ("达标情况", "Attainment"),
    "windows_of": ("各窗口数值", "Value per window"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "value": ("数值", "Value"),
    "num_den": ("分子/分母", "Numerator/denominator"),
    "status": ("结果", "Status"),
    "revision": ("修订", "Revision"),
    "revision_note": ("修订:窗口的修订号(0 = 首次发布,n = 第 n 次迟到数据修订),与窗口记录及 cckpi compute 一致。",
                      "Revision: the window's revision (0 = first published, n = its n-th late-data revision), as in "
                      "the window records and cckpi compute."),
    "breaches": ("违约明细与证据", "Breaches, evidence and penalties"),
    "no_breaches": ("本期无计罚违约。", "No breach was booked in this period."),
    "since": ("起始于", "Since"),
    "evidence": ("证据(事件编号样本)", "Evidence (sample of event ids)"),
    "amount": ("金额", "Amount"),
    "fees": ("服务费", "Fees"),
    "fee": ("费用", "Fee"),
    "seats": ("坐席数", "Seats"),
    "fee_total": ("每期费用", "Fee per period"),
    "settlement": ("结算明细(违约金计算)", "Settlement lines (how each penalty was computed)"),
    "booked_in": ("计入月份", "Booked in"),
    "formula": ("计算方式", "Formula"),
    "uncapped": ("封顶前金额", "Before caps"),
    "caps": ("封顶", "Caps applied"),
    "cure": ("整改期", "Cure period"),
    "cures": ("限期整改", "Cure periods (rectification)"),
    "decided_by": ("判定依据", "Decided by"),
    "pending": ("整改期中", "pending"),
    "cured": ("已整改,不计罚", "cured, not booked"),
    "failed": ("整改未达标,计罚", "failed, booked"),
    "ticket_misses": ("超时工单", "Tickets past their deadline"),
    "ticket": ("工单", "Ticket"),
    "created": ("创建时间", "Created"),
    "deadline": ("截止时间", "Deadline"),
    "settled_by": ("结算依据", "Settled by"),
    "still_open": ("期末仍未解决", "still open at the period end"),
    "revisions": ("迟到数据修订", "Late-data revisions"),
    "no_revisions": ("本期窗口关闭后无修订。", "No window of this period was revised after it closed."),
    "before": ("修订前", "Before"),
    "after": ("修订后", "After"),
    "why": ("原因", "Why"),
    "published": ("发布时间", "Published"),
    "after_period_end": ("期末之后", "after the period end"),
    "in_batch": ("批量计算", "batch"),
    "late_why": ("迟到事件:分母 {den:+g},分子 {num:+g}", "late events: denominator {den:+g}, numerator {num:+g}"),
    "inputs": ("输入数据与摘要", "Inputs and digest"),
    "input": ("输入", "Input"),
    "kind": ("类型", "Kind"),
    "size": ("字节数", "Bytes"),
    "digest": ("输入摘要 (sha256)", "Input digest (sha256)"),
    "reproduce": ("双方可用相同输入与以下命令复现本报告:", "Either party can reproduce this statement from the same "
                  "inputs with:"),
    "numbers_note": ("所有数值取自流处理发布的窗口记录(cckpi.kpi-windows、cckpi.breaches)或同一引擎的批量计算;"
                     "期间值 = 各窗口分子之和 / 分母之和。",
                     "Every number is taken from the window records the stream publishes (cckpi.kpi-windows, "
                     "cckpi.breaches) or from the same engine in batch; a period value is the sum of its windows' "
                     "numerators over the sum of their denominators."),
    "met": ("达标", "met"),
    "breached": ("未达标", "breached"),
    "insufficient_volume": ("样本不足", "insufficient volume"),
    "no_data": ("无数据", "no data"),
    "calls": ("电话", "Calls"),
    "tickets": ("工单", "Tickets"),
    "surveys": ("满意度调查", "Surveys"),
    "availability": ("系统可用性", "Availability"),
    "offered": ("接通+放弃", "answered + abandoned"),
    "answered": ("接通", "answered"),
    "ended": ("结束通话", "ended calls"),
    "complaints": ("投诉工单", "complaints"),
    "messages": ("客户消息", "customer messages"),
    "measured_seconds": ("监测秒数", "measured seconds"),
    "chart_threshold": ("达标线", "threshold"),
    "exclusions": ("不计入可用性的时段", "Periods excluded from availability"),
    "maintenance": ("计划维护", "planned maintenance"),
    "force_majeure": ("不可抗力", "force majeure"),
    "from": ("开始", "From"),
    "until": ("结束", "Until"),
    "services": ("服务", "Services"),
    "all_services": ("全部服务", "all services"),
}
"""Every label: (Chinese, English)."""

def label(key: str, language: Language) -> str:
    """The label of `key` in the statement's language."""
    zh, en = LABELS[key]
    return zh if language == "zh" else en


def kpi_name(kpi: str, language: Language) -> str:
    """A KPI's title in the statement's language, from the KPI registry."""
    return CATALOG[kpi].title_in(language)


def fmt_value(value: float | None, unit: str) -> str:
    """A KPI value as shown: ratios in percent with two decimals, seconds with one, points and scores with two."""
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "seconds":
        return f"{value:.1f} s"
    return f"{value:.2f}"


def fmt_count(value: float | None) -> str:
    """A sum as shown: whole numbers with thousands separators, fractions with two decimals."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def fmt_money(amount: Decimal, currency: str) -> str:
    """An amount with its currency code, e.g. `3,000 ILS`."""
    return f"{amount:,} {currency}"


def fmt_time(iso: str | datetime) -> str:
    """A local ISO time without seconds and offset noise: `1999-09-01 00:00`."""
    text = iso.isoformat() if isinstance(iso, datetime) else iso
    return text[:16].replace("T", " ")
