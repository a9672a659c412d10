"""Small cited tables behind the synthetic market, and the assumptions that have no public source here.

Measured figures come from the Online Labour Index (OLI, CC BY 4.0):

- ``OLI_CLASS_SHARES``: share of new online vacancies per OLI occupation class, from the monthly
  index ``oli_levels_monthly.csv`` (mean of Sep 2023 - Aug 2024, the last 12 months published there;
  each class's level divided by the sum of the seven classes).
- ``CLIENT_COUNTRY_SHARES``: employer countries of new online projects on 2017-04-11
  (``oli_employer_country_snapshot_2017-04-11.csv``), the ten largest, which hold 80.1% of the
  62,606 projects; shares are renormalised over these ten.

The worker-side tables (country of online workers, their time zones and the rate multiplier
relative to US BLS wages) are **assumptions**: the staged OLI data has no worker-side counts. They
are rounded, plausible figures in the spirit of the OLI worker-supply index (Stephany et al.
2021, where South Asia leads online labour supply), not measurements; audits should use them only as
a scenario. The group shares for sex, race/ethnicity and age are also illustrative defaults.
"""

from __future__ import annotations

from gigshift._provenance import Source

OLI = Source(
    key="oli",
    name="Online Labour Index",
    version="monthly levels 2016-05..2024-08; employer-country snapshot 2017-04-11",
    licence="CC BY 4.0",
    citation=(
        "Kässi, O., & Lehdonvirta, V. (2018). Online Labour Index: Measuring the online gig economy for "
        "policy and research. Technological Forecasting and Social Change 137, 241-248. Data: Kässi, Hadley "
        "& Lehdonvirta (2019), figshare, doi:10.6084/m9.figshare.3761562."
    ),
    url="https://doi.org/10.6084/m9.figshare.3761562",
)

#: gigshift category class -> share of online vacancies (OLI, mean Sep 2023 - Aug 2024).
OLI_CLASS_SHARES: dict[str, float] = {
    "software-tech": 0.3406,  # Software development and technology
    "creative-multimedia": 0.2181,  # Creative and multimedia
    "sales-marketing": 0.1400,  # Sales and marketing support
    "microwork": 0.1155,  # Microwork
    "clerical-data-entry": 0.0762,  # Clerical and data entry
    "writing-translation": 0.0701,  # Writing and translation
    "professional-services": 0.0395,  # Professional services
}

#: Employer country -> share of new projects among the ten largest (OLI snapshot, 2017-04-11).
_CLIENT_PROJECTS = {  # new projects on 2017-04-11 by employer country
    "United States": 31_323,
    "United Kingdom": 4_494,
    "Australia": 3_874,
    "Canada": 3_519,
    "India": 3_009,
    "Germany": 1_076,
    "Singapore": 957,
    "Israel": 678,
    "United Arab Emirates": 619,
    "Netherlands": 600,
}
CLIENT_COUNTRY_SHARES: dict[str, float] = {
    name: count / sum(_CLIENT_PROJECTS.values()) for name, count in _CLIENT_PROJECTS.items()
}

#: ASSUMPTION. Online worker country -> (share of online workers, time zones with weights,
#: hourly-rate multiplier relative to the US BLS median of the category). The multipliers stand for
#: the global supply of online work: clients hire across borders and rates follow local living costs.
WORKER_COUNTRIES: dict[str, tuple[float, dict[str, float], float]] = {
    "India": (0.25, {"Asia/Kolkata": 1.0}, 0.38),
    "Bangladesh": (0.12, {"Asia/Dhaka": 1.0}, 0.33),
    "United States": (
        0.12,
        {"America/New_York": 0.47, "America/Chicago": 0.29, "America/Denver": 0.07, "America/Los_Angeles": 0.17},
        1.0,
    ),
    "Pakistan": (0.10, {"Asia/Karachi": 1.0}, 0.35),
    "Philippines": (0.08, {"Asia/Manila": 1.0}, 0.40),
    "United Kingdom": (0.05, {"Europe/London": 1.0}, 0.90),
    "Ukraine": (0.05, {"Europe/Kyiv": 1.0}, 0.55),
    "Nigeria": (0.04, {"Africa/Lagos": 1.0}, 0.35),
    "Brazil": (0.04, {"America/Sao_Paulo": 1.0}, 0.45),
    "Kenya": (0.03, {"Africa/Nairobi": 1.0}, 0.35),
    "Egypt": (0.03, {"Africa/Cairo": 1.0}, 0.35),
    "Serbia": (0.03, {"Europe/Belgrade": 1.0}, 0.55),
    "Indonesia": (0.03, {"Asia/Jakarta": 1.0}, 0.38),
    "Canada": (0.03, {"America/Toronto": 1.0}, 0.90),
}

#: On-location work happens in one (US) metro, where the BLS wage applies as is.
LOCAL_COUNTRY = "United States"
LOCAL_TIME_ZONE = "America/New_York"

#: Share of workers who disclose each group attribute (the rest are null, "not disclosed").
DISCLOSED = 0.97


def _scaled(shares: dict[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    return {k: round(v / total * DISCLOSED, 6) for k, v in shares.items()}


#: ILLUSTRATIVE defaults: group -> share of all workers; 3% of each attribute is not disclosed.
DEFAULT_GROUP_SHARES: dict[str, dict[str, float]] = {
    "sex": _scaled({"female": 0.45, "male": 0.53, "nonbinary": 0.02}),
    # the seven race/ethnicity categories of EEO-1 reports, as NYC Local Law 144 audits use them
    "race_ethnicity": _scaled(
        {
            "Hispanic or Latino": 0.17,
            "White": 0.55,
            "Black or African American": 0.12,
            "Native Hawaiian or Other Pacific Islander": 0.01,
            "Asian": 0.10,
            "American Indian or Alaska Native": 0.01,
            "Two or More Races": 0.04,
        }
    ),
    "age_band": _scaled({"18-24": 0.15, "25-34": 0.36, "35-44": 0.25, "45-54": 0.14, "55+": 0.10}),
    "country": _scaled({name: share for name, (share, _, _) in WORKER_COUNTRIES.items()}),
}
