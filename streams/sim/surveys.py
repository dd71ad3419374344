"""Simulated satisfaction surveys: customers answer at random times with 1 to 5 stars, scaled to the contract's
points. Pure: yields events in time order.

Every `bad_day_every`-th simulated day (from the start) the customers are less happy, so a daily satisfaction term
with a threshold near the usual mean breaches on those days.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from streams.models.events import SurveySubmitted
from streams.sim.poisson import arrival_times

STARS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Panel:
    """How many customers answer and how they rate (weights of 1..5 stars), on a usual and on a bad day."""

    surveys_per_hour: float = 8.0
    usual: tuple[float, ...] = (0.03, 0.04, 0.10, 0.33, 0.50)
    bad_day: tuple[float, ...] = (0.12, 0.15, 0.25, 0.28, 0.20)
    bad_day_every: int = 3
    """Every n-th simulated day (the first is day 0) is a bad one; 0: none."""
    scale_max: float = 5.0
    """Top of the contract's points scale: five stars give this many points."""

    def weights(self, seconds_since_start: float) -> tuple[float, ...]:
        """Star weights at this point of the simulation."""
        day = int(seconds_since_start // 86400)
        return self.bad_day if self.bad_day_every and day % self.bad_day_every == self.bad_day_every - 1 else \
            self.usual


def simulate_surveys(start: datetime, seconds: float, panel: Panel, seed: int, run_id: str,
                     queues: Sequence[str] = ()) -> Iterator[SurveySubmitted]:
    """Survey events of `seconds` of simulated time from `start`, in time order."""
    rng = random.Random(f"{seed}-surveys")
    for n, t in enumerate(arrival_times(rng, panel.surveys_per_hour, seconds)):
        stars = rng.choices(STARS, panel.weights(t))[0]
        survey_id = f"{run_id}-S{n}"
        yield SurveySubmitted(event_id=f"{survey_id}:s", survey_id=survey_id,
                              occurred_at=start + timedelta(seconds=round(t, 3)),
                              csat_points=round(stars * panel.scale_max / 5, 3),
                              queue=rng.choice(list(queues)) if queues else None)
