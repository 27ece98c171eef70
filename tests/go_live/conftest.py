"""The fixture most go-live tests read: the report of every flow (tests/go_live/dry_run_reports.py), rendered."""

from __future__ import annotations

import pytest

from shopify_max.go_live.report import GoLiveReportFiles
from tests.go_live.dry_run_reports import all_reports, render


@pytest.fixture
def rendered(tmp_path) -> GoLiveReportFiles:
    return render(all_reports(), tmp_path / "report")
