"""Landing: what the platform fetches itself (pulls) and where they land, with their watermarks.

`citysafety.land.pull.pull_feed` dispatches on the registry's `Feed.pull`: the bureau's HTTP API
(`http_api`) or a table of a department's database (`sql_table`); both write their extracts and
watermarks through `extracts`.
"""
