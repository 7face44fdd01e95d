"""`pressbot eval`: the golden-set runner, validator and CI gate."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import click

from pressbot.config import Settings

DEFAULT_GOLDEN = Path(__file__).parent / "golden" / "sample.jsonl"
HELDOUT_PREFIX = "heldout"  # golden files named heldout*.jsonl are frozen held-out sets
DEFAULT_THRESHOLDS = Path(__file__).parent / "thresholds.toml"


def register(cli: click.Group, settings_of: Callable[..., Settings]) -> None:
    @cli.command("eval")
    @click.option(
        "--golden",
        "golden",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Golden JSONL file(s) (default: the bundled evals/golden/sample.jsonl).",
    )
    @click.option("--k", type=click.IntRange(1, 50), default=5, show_default=True, help="Releases retrieved.")
    @click.option("--as-of", help="Date relative words refer to, for items without their own as_of.")
    @click.option(
        "--out",
        type=click.Path(path_type=Path),
        default=Path("evals/out"),
        show_default=True,
        help="Where report.json, report.md and the charts go.",
    )
    @click.option("--check", is_flag=True, help="Only validate the golden file(s) against the index.")
    @click.option("--gate", is_flag=True, help="Exit 1 when a metric misses its threshold.")
    @click.option("--thresholds", type=click.Path(path_type=Path), default=DEFAULT_THRESHOLDS, show_default=True)
    @click.option("--no-baseline", is_flag=True, help="Skip the baseline pipeline.")
    @click.option("--limit", type=int, help="Only the first N questions (quick runs).")
    @click.option("--unseal", is_flag=True,
                  help="Write each question's answer for a held-out set (heldout*.jsonl) too: it is a dev set then.")
    @click.option(
        "--ablate",
        "ablate_rules",
        is_flag=False,
        flag_value="all",
        default=None,
        metavar="[RULE,...]",
        help="Run each golden set with each answerer rule off in turn (or only the rules named), "
        "and report what each earns (ablation.md in --out).",
    )
    @click.pass_context
    def eval_cmd(
        ctx: click.Context,
        golden: tuple[Path, ...],
        k: int,
        as_of: str | None,
        out: Path,
        check: bool,
        gate: bool,
        thresholds: Path,
        no_baseline: bool,
        limit: int | None,
        unseal: bool,
        ablate_rules: str | None,
    ) -> None:
        """Run a golden question set through the same engine as Slack and the API, beside the baseline.

        \b
        Examples:
          pressbot eval                                   # bundled set, report in evals/out/
          pressbot eval --golden mine.jsonl --k 8 --out report/
          pressbot eval --check                           # validate the golden file against the index
          pressbot eval --gate                            # CI: fail when a metric misses evals/thresholds.toml
          pressbot eval --golden a.jsonl --golden b.jsonl --ablate   # what each rule earns, per set
        """
        from evals import runner
        from evals.golden import load_golden
        from evals.report import write as write_report
        from pressbot.engine import Engine
        from pressbot.errors import QueryError

        items = load_golden(list(golden) or [DEFAULT_GOLDEN])
        if limit:
            items = items[:limit]
        if ablate_rules is not None:  # a misspelt rule is told before the index and model load
            from pressbot.rules import RULES, rules_off

            rules = list(RULES) if ablate_rules == "all" else sorted(rules_off(ablate_rules.split(",")))
        engine = Engine.from_settings(settings_of(ctx))
        if check:
            problems = runner.check(engine, items)
            for p in problems:
                click.echo(p)
            click.echo(f"{len(items)} questions, {len(problems)} problems")
            if problems:
                raise click.exceptions.Exit(1)
            return
        try:
            as_of_d = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise QueryError(f"--as-of {as_of!r} is not an ISO date (YYYY-MM-DD)") from None
        if ablate_rules is not None:
            from evals import ablate

            sets = {p.stem: load_golden(p)[:limit] for p in (list(golden) or [DEFAULT_GOLDEN])}
            figures = ablate.ablate(engine, sets, rules, k=k, as_of=as_of_d)
            click.echo(ablate.table(figures))
            click.echo("wrote " + ", ".join(str(p) for p in ablate.write(figures, out)))
            return
        floors: dict[str, float] = {}
        if gate:  # told before the run, not after it
            files = list(golden) or [DEFAULT_GOLDEN]
            if len(files) != 1:
                raise QueryError("--gate takes one golden file (its floors are per set in --thresholds)")
            floors = runner.load_thresholds(thresholds, files[0].stem)
        report = runner.run(engine, items, k=k, as_of=as_of_d, baseline=not no_baseline)
        report.meta["sealed"] = not unseal and any(p.name.startswith(HELDOUT_PREFIX) for p in golden)
        paths = write_report(report, out)
        click.echo(json.dumps({"pressbot": report.pressbot, "baseline": report.baseline}, indent=1))
        click.echo("wrote " + ", ".join(str(p) for p in paths))
        if gate:
            failures = runner.gate(report, floors)
            for f in failures:
                click.echo(f"GATE FAIL {f}", err=True)
            if failures:
                raise click.exceptions.Exit(1)
            click.echo("gate passed")
