"""SLOs: the latest state of each and one SLO's hours (fct_slo_status)."""

from __future__ import annotations

import pandas as pd

from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader


def slo_list(reader: SnapshotReader) -> pd.DataFrame:
    """Grain: SLO, its latest hour (fct_slo_status where is_latest)."""
    return reader.query(
        """
        select slo_id, description, sli_kind, objective, error_budget, period_days, threshold,
               status_hour, sli, good_period, total_period, budget_consumed, budget_remaining,
               burn_rate_1h, burn_rate_6h, burn_rate_1d, burn_rate_3d, burn_rate_period,
               is_page, is_ticket, budget_state
        from marts.fct_slo_status where is_latest order by slo_id
        """
    )


def slo_history(reader: SnapshotReader, slo_id: str, filters: Filters) -> pd.DataFrame:
    """Grain: hour of one SLO in the date range (fct_slo_status)."""
    return reader.query(
        """
        select status_hour as hour, good, total, sli, budget_remaining,
               burn_rate_1h, burn_rate_6h, burn_rate_1d, burn_rate_3d, is_page, is_ticket
        from marts.fct_slo_status
        where slo_id = ? and status_date between ? and ?
        order by status_hour
        """,
        [slo_id, filters.start, filters.end],
    )
