"""Insights (§9): queries over synthetic delivery, synchronous or as async report runs.

A query is parsed once into a :class:`~.query.Query`; a :class:`~.layout.Report` then lays
its rows out as entities (the objects of the ``level``) x time buckets x breakdown segments,
counting them without computing any metric. A page asks only for its own rows, so reading a
200,000-row report costs one page of cells per request. Sorting and metric filters need
every row and are the exception (a report keeps its ordered rows between pages). The numbers come from :mod:`meta_agent.sandbox.synth`,
whose docstring states what adds up to what.

Report runs are snapshots: their rows are recomputed on demand from the stored parameters
as of the run's ``time_ref``, so they equal a sync query made at that moment (objects
edited since then do show their new state). A run's layout is kept between its pages in
``Sandbox.memo`` (:mod:`meta_agent.sandbox.memo`) until the next write, so page k costs
one page of rows.

Modules, in the order a request meets them:

- :mod:`.enums`: the names each parameter accepts (fields, levels, breakdowns, windows).
- :mod:`.dates`: date presets, time ranges and time increments, as buckets of days.
- :mod:`.filters`: the ``filtering`` parameter, parsed and matched against rows.
- :mod:`.query`: every parameter validated into one :class:`~.query.Query`.
- :mod:`.layout`: which rows exist, paging over them, and computing one row from cells.
- :mod:`.cells`: the hot loop, one ad's day split over its breakdown segments.
- :mod:`.values`: one row's counters rendered as Meta's fields (ratios, action lists).
- :mod:`.reports`: async report runs, their phases and how Meta renders them.
- :mod:`.optin`: the breakdowns that need an opt-in since 2026-08-03, and their run quota.

The HTTP handlers live in :mod:`meta_agent.sandbox.routes.insights`.
"""
