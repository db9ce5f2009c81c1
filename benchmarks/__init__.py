"""Benchmarks of ``outcomes``, run by ``make bench`` (``python -m benchmarks``).

Each module ``bench_<topic>.py`` defines ``run(ctx: Context) -> None`` and reports
measurements with ``ctx.report``; every measurement is shown next to a reference
measured in the same run, as a ratio, and checked against its target.
"""
