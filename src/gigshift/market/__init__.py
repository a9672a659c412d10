"""Market tables: workers, clients, tasks and bids; their schemas, validated CSV/Parquet I/O and a synthetic market.

Every other engine reads a market through these tables. ``validate`` parses a table through its
schema and reports every bad cell at once (row, column, expected, got); ``read`` and ``write`` move
one table through CSV or Parquet; ``read_market`` and ``Market.write`` handle a whole market
directory; ``synthetic`` draws a realistic market on the atlas categories, with planted group
biases for audits to find.
"""

from gigshift.market._io import check_references, read, write
from gigshift.market._market import Market, read_market
from gigshift.market._schema import GROUP_ATTRIBUTES, SCHEMAS, TableKind
from gigshift.market._synthetic import synthetic, synthetic_tasks
from gigshift.market._validate import validate

__all__ = [
    "GROUP_ATTRIBUTES",
    "SCHEMAS",
    "Market",
    "TableKind",
    "check_references",
    "read",
    "read_market",
    "synthetic",
    "synthetic_tasks",
    "validate",
    "write",
]
