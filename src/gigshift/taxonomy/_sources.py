"""The public datasets behind the atlas, with version, licence and citation.

Only sources whose licence allows redistribution feed the tables shipped in ``data/``.
"""

from __future__ import annotations

from gigshift._provenance import Source

ONET = Source(
    key="onet",
    name="O*NET 29.3 Database",
    version="29.3 (May 2025)",
    licence="CC BY 4.0",
    citation=(
        "National Center for O*NET Development. O*NET 29.3 Database. U.S. Department of Labor, "
        "Employment and Training Administration. This product includes information from the O*NET 29.3 "
        "Database, used under the CC BY 4.0 license; gigshift has modified (selected and re-shaped) it."
    ),
    url="https://www.onetcenter.org/database.html",
)
GPTS = Source(
    key="gpts_are_gpts",
    name="GPTs are GPTs exposure labels (occupation and task level)",
    version="openai/GPTs-are-GPTs @ 0471612f (2025-10-03); labels on O*NET 27.x tasks",
    licence="MIT",
    citation=(
        "Eloundou, T., Manning, S., Mishkin, P., & Rock, D. (2024). GPTs are GPTs: Labor market impact "
        "potential of LLMs. Science 384(6702), 1306-1308."
    ),
    url="https://github.com/openai/GPTs-are-GPTs",
)
MICROSOFT = Source(
    key="microsoft_working_with_ai",
    name="Working with AI: AI applicability scores",
    version="microsoft/working-with-ai @ 84c4ebac (2025-10-17)",
    licence="CC BY 4.0",
    citation=(
        "Tomlinson, K., Jaffe, S., Wang, W., Counts, S., & Suri, S. (2025). Working with AI: Measuring "
        "the Applicability of Generative AI to Occupations. arXiv:2507.07935."
    ),
    url="https://github.com/microsoft/working-with-ai",
)
OEWS = Source(
    key="bls_oews",
    name="BLS Occupational Employment and Wage Statistics, national",
    version="May 2025",
    licence="Public domain (U.S. federal work)",
    citation="U.S. Bureau of Labor Statistics, Occupational Employment and Wage Statistics, May 2025.",
    url="https://www.bls.gov/oes/",
)
EP = Source(
    key="bls_ep",
    name="BLS Employment Projections, Table 1.2",
    version="2024-34",
    licence="Public domain (U.S. federal work)",
    citation=(
        "U.S. Bureau of Labor Statistics, Employment Projections program, Table 1.2 'Occupational "
        "projections, 2024-34, and worker characteristics, 2024'."
    ),
    url="https://www.bls.gov/emp/tables/occupational-projections-and-characteristics.htm",
)
CROSSWALK = Source(
    key="bls_crosswalk",
    name="O*NET-SOC 2019 to National Employment Matrix (SOC 2018) crosswalk",
    version="as of 2023-09-06",
    licence="Public domain (U.S. federal work)",
    citation="U.S. Bureau of Labor Statistics, NEM/O*NET-SOC crosswalk (via openai/GPTs-are-GPTs).",
    url="https://www.bls.gov/emp/documentation/crosswalks.htm",
)

#: Every source that feeds a shipped table, in the order the README lists them.
OLI = Source(
    key="oli",
    name="Online Labour Index (monthly means of the daily series, by occupation class)",
    version="2016-05 to 2024-08",
    licence="CC BY 4.0",
    citation=(
        "Kassi, O., Hadley, C. & Lehdonvirta, V. (2019). Online Labour Index: Measuring the Online Gig Economy "
        "for Policy and Research. figshare, doi:10.6084/m9.figshare.3761562; Kassi, O. & Lehdonvirta, V. (2018). "
        "Technological Forecasting and Social Change 137, 241-248."
    ),
    url="https://doi.org/10.6084/m9.figshare.3761562",
)

SHIPPED_SOURCES: tuple[Source, ...] = (ONET, GPTS, MICROSOFT, OEWS, EP, CROSSWALK, OLI)


def sources_for(*keys: str) -> tuple[Source, ...]:
    """The sources with the given keys, in registry order."""
    return tuple(s for s in SHIPPED_SOURCES if s.key in keys)
