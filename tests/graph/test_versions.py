"""The version facts of reference §13.1 (2026-12-02), shared by the client and the sandbox."""

from __future__ import annotations

from datetime import date

from meta_agent import versions

TODAY = date(2026, 12, 3)


def test_v27_is_the_newest_and_the_default() -> None:
    """v27.0 (2026-11-04) is the newest version, so the client's default."""
    assert versions.NEWEST == "v27.0"
    assert versions.BY_NAME["v27.0"].released == date(2026, 11, 4)
    from meta_agent.graph.settings import GraphSettings

    assert GraphSettings.model_fields["version"].default == "v27.0"


def test_sunsets_as_corrected() -> None:
    """v24.0 ends 2026-11-10 (not 2026-10-06), v25.0 on 2027-02-23; v26/v27 have no date."""
    by_name = versions.BY_NAME
    assert by_name["v24.0"].marketing_sunset == date(2026, 11, 10)
    assert by_name["v25.0"].marketing_sunset == date(2027, 2, 23)
    assert by_name["v26.0"].marketing_sunset is None
    assert by_name["v27.0"].marketing_sunset is None
    assert not by_name["v24.0"].is_sunset(date(2026, 11, 10))
    assert by_name["v24.0"].is_sunset(date(2026, 11, 11))
    assert versions.oldest_live(TODAY).name == "v25.0"
    assert versions.oldest_live(date(2027, 2, 24)).name == "v26.0"


def test_v25_warns_a_month_before_its_sunset() -> None:
    """v25.0 is quiet today and warned about from 30 days before 2027-02-23."""
    assert versions.sunset_warning("v25.0", TODAY) is None
    warning = versions.sunset_warning("v25.0", date(2027, 2, 1))
    assert warning is not None
    assert "2027-02-23" in warning
    assert "v27.0" in warning
