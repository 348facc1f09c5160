"""Reports for marketers: rows per level, pacing, periods compared, accounts side by side.

::

    fetch.fetch_rows        the one function every report reads insights rows through
    levels                  rows per campaign, ad set, ad and creative; an object's level
    pacing                  spend against the daily or lifetime budget, projected to the end
    periods                 the previous period and each figure's change
    builder                 MarketerReport: the performance report plus all of the above
    accounts                one report over many accounts, currencies kept apart
    tables                  every table of a report as plain rows (CSV, Parquet)
"""
