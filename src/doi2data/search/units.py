"""Units for parameter filters (``"wavelength < 1.2 A"``): a small table, not a units library.

Why a table: a search filter needs a handful of quantities photon and neutron catalogues record
(wavelength, energy, temperature, pressure, time, angle, length), and each value must be compared
in one scale whatever unit the user or the catalogue wrote. Every unit maps to its dimension, a
factor and an offset to SI (temperatures need the offset), plus the spelling the PaN search API
accepts: it converts with mathjs (``panosc-eu/search-api`` doc/units-and-prefixes.md and doc/query.md,
checked 2026-12-06), where ``A`` is the *ampere* and the ångström is spelt ``angstrom`` - so ``A``
here (as on beamlines) means ångström and is sent as ``angstrom``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class Unit:
    symbol: str      # how doi2data prints it
    dimension: str   # length, energy, temperature, ...
    factor: float    # SI value of 1 unit
    pan: str         # the spelling sent to the PaN search API (mathjs)
    offset: float = 0.0  # SI = value * factor + offset (degC -> K)

    def to_si(self, value: float) -> float:
        return value * self.factor + self.offset

    def from_si(self, value: float) -> float:
        return (value - self.offset) / self.factor


_EV = 1.602176634e-19
_TABLE: tuple[tuple[tuple[str, ...], Unit], ...] = (
    (("m", "meter", "metre"), Unit("m", "length", 1.0, "m")),
    (("cm",), Unit("cm", "length", 1e-2, "cm")),
    (("mm",), Unit("mm", "length", 1e-3, "mm")),
    (("um", "µm", "μm", "micron"), Unit("um", "length", 1e-6, "um")),
    (("nm",), Unit("nm", "length", 1e-9, "nm")),
    (("pm",), Unit("pm", "length", 1e-12, "pm")),
    (("a", "å", "ang", "angstrom", "angstroms", "ångström"), Unit("A", "length", 1e-10, "angstrom")),
    (("ev",), Unit("eV", "energy", _EV, "eV")),
    (("mev",), Unit("meV", "energy", 1e-3 * _EV, "meV")),
    (("kev",), Unit("keV", "energy", 1e3 * _EV, "keV")),
    (("gev",), Unit("GeV", "energy", 1e9 * _EV, "GeV")),
    (("j", "joule"), Unit("J", "energy", 1.0, "J")),
    (("k", "kelvin"), Unit("K", "temperature", 1.0, "K")),
    (("mk",), Unit("mK", "temperature", 1e-3, "mK")),
    (("c", "°c", "degc", "celsius"), Unit("degC", "temperature", 1.0, "degC", 273.15)),
    (("pa",), Unit("Pa", "pressure", 1.0, "Pa")),
    (("kpa",), Unit("kPa", "pressure", 1e3, "kPa")),
    (("mpa",), Unit("MPa", "pressure", 1e6, "MPa")),
    (("gpa",), Unit("GPa", "pressure", 1e9, "GPa")),
    (("bar",), Unit("bar", "pressure", 1e5, "bar")),
    (("mbar",), Unit("mbar", "pressure", 1e2, "mbar")),
    (("s", "sec", "second", "seconds"), Unit("s", "time", 1.0, "s")),
    (("ms",), Unit("ms", "time", 1e-3, "ms")),
    (("us", "µs", "μs"), Unit("us", "time", 1e-6, "us")),
    (("min", "minute", "minutes"), Unit("min", "time", 60.0, "minute")),
    (("h", "hour", "hours"), Unit("h", "time", 3600.0, "hour")),
    (("deg", "°", "degree", "degrees"), Unit("deg", "angle", 0.017453292519943295, "deg")),
    (("rad", "radian", "radians"), Unit("rad", "angle", 1.0, "rad")),
    (("mrad",), Unit("mrad", "angle", 1e-3, "mrad")),
    (("t", "tesla"), Unit("T", "magnetic field", 1.0, "T")),
    (("hz",), Unit("Hz", "frequency", 1.0, "Hz")),
    (("khz",), Unit("kHz", "frequency", 1e3, "kHz")),
)
#: Lower-cased spelling -> unit. ``mev`` is milli-electronvolt: the table is case-insensitive, and
#: no photon/neutron catalogue filters on mega-electronvolts.
UNITS: dict[str, Unit] = {name: unit for names, unit in _TABLE for name in names}
#: Case-sensitive spellings that would be ambiguous lower-cased (``MeV`` vs ``meV``).
_EXACT: dict[str, Unit] = {"MeV": Unit("MeV", "energy", 1e6 * _EV, "MeV")}


def unit(name: str) -> Unit:
    """The unit spelt ``name`` (case-insensitive, ``Å``/``°C`` accepted); UsageError when unknown."""
    text = name.strip()
    found = _EXACT.get(text) or UNITS.get(text.lower())
    if found is None:
        known = ", ".join(sorted({u.symbol for _, u in _TABLE}))
        raise UsageError(f"unknown unit {text[:40]!r}; known units: {known}")
    return found


def convert(value: float, source: Unit, target: Unit) -> float:
    """``value`` in ``source`` expressed in ``target``; UsageError when the dimensions differ."""
    if source.dimension != target.dimension:
        raise UsageError(f"cannot compare {source.symbol} ({source.dimension}) with {target.symbol} "
                         f"({target.dimension})")
    return target.from_si(source.to_si(value))


__all__ = ["UNITS", "Unit", "convert", "unit"]
