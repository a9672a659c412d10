"""Provenance carried by every result: where each figure came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Source:
    """One public dataset a result rests on."""

    key: str
    name: str
    version: str
    licence: str
    citation: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {
            "key": self.key,
            "name": self.name,
            "version": self.version,
            "licence": self.licence,
            "citation": self.citation,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Provenance:
    """Sources, method and software version behind a result."""

    sources: tuple[Source, ...]
    method: str
    gigshift_version: str
    seed: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "sources": [s.to_dict() for s in self.sources],
            "method": self.method,
            "gigshift_version": self.gigshift_version,
            "seed": self.seed,
            **({"extra": dict(self.extra)} if self.extra else {}),
        }
