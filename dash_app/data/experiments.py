"""Questions the Experiments page and the Overview's impact card ask of the marts.

Values from the user are bound as parameters; no SQL is built from user input.
"""

from __future__ import annotations

import pandas as pd

from dash_app.data.warehouse import SnapshotReader

ROLE_ORDER = "case metric_role when 'primary' then 0 when 'secondary' then 1 else 2 end"


def experiment_names(reader: SnapshotReader) -> list[str]:
    """Every experiment with a readout, by name."""
    frame = reader.query(
        "select distinct experiment from marts.fct_experiment_results order by experiment"
    )
    return frame.experiment.tolist()


def experiment_results(reader: SnapshotReader, experiments: list[str]) -> pd.DataFrame:
    """Grain: experiment × variant × metric (all experiments when the list is empty),
    primary metric first, then secondaries, then guardrails."""
    return reader.query(
        f"""
        select * from marts.fct_experiment_results
        where len(?::varchar[]) = 0 or list_contains(?::varchar[], experiment)
        order by experiment, variant, {ROLE_ORDER}, metric
        """,
        [experiments, experiments],
    )


def top_impacts(reader: SnapshotReader, limit: int = 3) -> pd.DataFrame:
    """Grain: technical metric × business KPI; the largest impacts first."""
    return reader.query(
        """
        select * from marts.fct_metric_impacts
        where impact_rank <= ?
        order by impact_rank
        """,
        [limit],
    )
