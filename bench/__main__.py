"""`python -m bench`: the benchmark (`run`) and the soak run (`soak`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="markdown",
                  help="Benchmark and soak of the cckpi worker against a real Apache Kafka broker it starts itself.")


@app.command("run")
def run_command(
    quick: Annotated[bool, typer.Option(help="A tenth of the workload, 500k events for RSS, 20 s of latency.")] = False,
    fraction: Annotated[float | None, typer.Option(help="Share of the anonymous-bank events (default 1).")] = None,
    large: Annotated[int | None, typer.Option(help="Events in the RSS run (default 5,000,000).")] = None,
    latency_seconds: Annotated[float | None, typer.Option(help="Wall seconds of steady traffic (default 60).")] = None,
    latency_rate: Annotated[list[float] | None, typer.Option(
        help="Events per second of a latency run (repeatable; default 2,000 and 20,000, each on a fresh broker).")]
    = None,
    latency_speed: Annotated[float, typer.Option(help="Simulated seconds per wall second in the latency run.")]
    = 60.0,
    skip: Annotated[list[str] | None, typer.Option(
        help="Steps to leave out: raw, quix, cckpi, two, rss, balanced, latency.")] = None,
    rounds: Annotated[int | None, typer.Option(
        min=1, help="Alternating rounds of the raw consumer, Quix Streams and one worker; the medians are reported "
        "(default 3, 1 with --quick).")] = None,
    out: Annotated[Path, typer.Option(help="Where to write the results.")] = Path("bench/results.json"),
) -> None:
    """Measure the cckpi worker, an equivalent Quix Streams application and a raw aiokafka consumer on the same
    workload (the anonymous-bank 1999 months, about 0.85 million call events) in alternating rounds, two workers
    in one group, RSS along 5 million events, one and two workers on a balanced workload (20 generated contracts x 4
    simulated queues, pooled terms included, even over 4 partitions) with each process's CPU, and produce-to-record
    latency at a steady 2,000 and 20,000 events/s. Writes `--out` and prints a rich table and a markdown table for the
    README.

    **Examples**

    - `python -m bench run` (the full run; 20-40 minutes on 2 cores)
    - `python -m bench run --quick` (a few minutes: to check the harness)
    - `python -m bench run --skip quix --skip rss --latency-seconds 30`
    - `python -m bench run --rounds 5 --skip two --skip rss --skip balanced --skip latency` (throughput alone)
    - `python -m bench run --quick --skip raw --skip quix --skip cckpi --skip rss --skip latency` (the balanced
      step alone)
    - `python -m bench run --skip balanced --latency-rate 20000` (latency at one rate)
    - `make bench` (installs the `bench` extra and the Kafka jars first), `make bench BENCH_ARGS=--quick`
    """
    from bench import run

    opts = run.Options(
        fraction=fraction if fraction is not None else (0.1 if quick else 1.0),
        large=large if large is not None else (500_000 if quick else 5_000_000),
        latency_seconds=latency_seconds if latency_seconds is not None else (20.0 if quick else 60.0),
        latency_rates=tuple(latency_rate or run.Options.latency_rates), latency_speed=latency_speed,
        skip=tuple(skip or ()), rounds=rounds if rounds is not None else (1 if quick else 3), out=out, quick=quick)
    unknown = set(opts.skip) - set(run.STEPS)
    if unknown:
        raise typer.BadParameter(f"unknown steps {sorted(unknown)}; known: {', '.join(run.STEPS)}")
    console = Console()
    run.show(run.run(opts, console), console)


@app.command("soak")
def soak_command(
    minutes: Annotated[float, typer.Option(help="Wall minutes of steady traffic.")] = 30.0,
    rate: Annotated[float, typer.Option(help="Events per second.")] = 1000.0,
    speed: Annotated[float, typer.Option(
        help="Simulated seconds per wall second (8,640: six days a minute, so a 30-minute soak crosses the "
        "monthly term's window + retention several times and memory must level off).")] = 8640.0,
    every: Annotated[float, typer.Option(help="Seconds between RSS and lag samples.")] = 5.0,
    max_slope_mib_per_min: Annotated[float, typer.Option(help="Fail above this RSS growth over the second half.")]
    = 1.0,
    out: Annotated[Path, typer.Option(help="Where to write the samples and the verdict.")]
    = Path("bench/soak-results.json"),
    contract: Annotated[Path | None, typer.Option(help="Contract file (default: the anonymous-bank one).")] = None,
) -> None:
    """Run one worker (all anonymous-bank KPIs) for `--minutes` at a steady rate from the simulator, sampling its
    RSS and consumer lag; exit 1 if memory keeps growing over the second half or the lag keeps growing.

    **Examples**

    - `python -m bench soak` (30 minutes at 1,000 events/s)
    - `python -m bench soak --minutes 5 --rate 2000`
    - `make soak SOAK_ARGS='--minutes 60'`
    - `python -m bench soak --minutes 4 --contract my-contract.yaml`
    """
    from bench import soak

    console = Console()
    result = soak.run_soak(soak.SoakOptions(minutes=minutes, rate=rate, speed=speed, every=every,
                                            max_slope_mib_per_min=max_slope_mib_per_min, out=out,
                                            contract=contract or soak.procs.BANK_CONTRACT), console)
    soak.show(result, console)
    if not result["passed"]:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
