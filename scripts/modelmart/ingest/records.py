"""Reader of in-memory events (a DataFrame or a list of dicts) into text columns, as from a file.

Its own module so that the file path (``modelmart ingest``) never imports pandas
(over a second of start-up on a loaded machine).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from modelmart.contract import Stream
from modelmart.ingest.results import RejectedFile


def records_to_arrow(stream: Stream, records: pd.DataFrame | Sequence[dict[str, Any]]) -> pa.Table:
    frame = (
        records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    )
    missing = [c for c in stream.required if c not in frame.columns]
    if missing:
        raise RejectedFile(
            f"missing required column(s) {', '.join(missing)} for stream {stream.name}"
        )

    def to_text(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
            return None
        if isinstance(value, dict | list):
            return json.dumps(value)
        if isinstance(value, pd.Timestamp | dt.datetime):
            return value.isoformat()
        return str(value)

    arrays = {"_source_row": pa.array(np.arange(1, len(frame) + 1))}
    for c in stream.columns:
        values = frame[c.name].tolist() if c.name in frame.columns else [None] * len(frame)
        arrays[c.name] = pa.array([to_text(v) for v in values], type=pa.string())
        if c.kind == "string" and any(isinstance(v, dict | list) for v in values):
            arrays[f"_nested_{c.name}"] = pa.array([isinstance(v, dict | list) for v in values])
    return pa.table(arrays)
