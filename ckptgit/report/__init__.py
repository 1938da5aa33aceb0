"""The report site and model cards: pure rendering of values that ``ops`` gathered.

Nothing here reads git or files of the repository; it turns ``report.model`` values into
HTML (plotly charts, the library's JS written once beside the pages) and Markdown cards.
"""
