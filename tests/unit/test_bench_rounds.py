"""The benchmark's throughput rounds: one figure per measure from alternating runs (`bench.run.median_of_rounds`),
and the report shows every round's ratios."""

from __future__ import annotations

from bench.report import rows
from bench.run import median_of_rounds

ROUNDS = [
    {"raw_events_per_s": 400_000, "quix_events_per_s": 30_000, "cckpi_events_per_s": 60_000, "cckpi_vs_quix": 2.0,
     "cckpi_vs_raw": 0.15, "cckpi_seconds": 14.0, "peak_rss_bytes": 100, "cckpi_dead_letters": {}},
    {"raw_events_per_s": 300_000, "quix_events_per_s": 20_000, "cckpi_events_per_s": 50_000, "cckpi_vs_quix": 2.5,
     "cckpi_vs_raw": 0.1667, "cckpi_seconds": 17.0, "peak_rss_bytes": 300, "cckpi_dead_letters": {"invalid": 2}},
    {"raw_events_per_s": 500_000, "quix_events_per_s": 35_000, "cckpi_events_per_s": 80_000, "cckpi_vs_quix": 2.286,
     "cckpi_vs_raw": 0.16, "cckpi_seconds": 10.6, "peak_rss_bytes": 200, "cckpi_dead_letters": {"invalid": 1}},
]


def test_each_figure_is_the_median_of_the_rounds_and_each_ratio_the_median_of_their_ratios() -> None:
    merged = median_of_rounds(ROUNDS)
    assert (merged["raw_events_per_s"], merged["quix_events_per_s"], merged["cckpi_events_per_s"]) == (
        400_000, 30_000, 60_000)
    assert merged["cckpi_vs_quix"] == 2.286  # not 60,000 / 30,000: a ratio is taken between neighbouring runs
    assert merged["cckpi_vs_raw"] == 0.16 and merged["cckpi_seconds"] == 14.0
    assert merged["peak_rss_bytes"] == 300 and merged["cckpi_dead_letters"] == {"invalid": 3}


def test_one_round_is_reported_as_it_was_measured() -> None:
    assert median_of_rounds(ROUNDS[:1]) == ROUNDS[0]


def test_the_report_lists_every_rounds_ratios_beside_the_median() -> None:
    table = {measure: (value, target) for measure, value, target in rows({**median_of_rounds(ROUNDS),
                                                                         "throughput_rounds": ROUNDS})}
    assert table["cckpi / Quix"] == ("2.29x", ">= 2.5x")
    assert table["  each of 3 alternating rounds: cckpi / Quix"] == ("2.00x, 2.50x, 2.29x", "(median above)")
    assert not any("rounds" in measure for measure, _, _ in rows(median_of_rounds(ROUNDS[:1])))
