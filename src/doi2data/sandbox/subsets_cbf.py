"""PILATUS miniCBF frames as byte sources: a real header, byte-offset pixels, never stored.

Why real headers: the frame table reads each file's first KiB and parses it with fabio, exactly
as it would a beamline's files, so the header follows the PILATUS 1.2 convention (``# Omega``,
``# Chi``, ``# Detector_distance``... and the CIF binary section header). The pixels are the
world's deterministic bytes read as byte-offset deltas (every byte but the escape 0x80 is a
valid delta), so fabio decodes a full image from any frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from .subsets_bytes import Concat, generated

CBF_STARTER = b"\x0c\x1a\x04\xd5"
CBF_PADDING = 4095


@dataclass(frozen=True)
class Detector:
    """A Pilatus model: name, serial number and pixel counts (fast, slow)."""

    name: str
    serial: str
    width: int
    height: int


PILATUS_300K = Detector("PILATUS 300K", "3-0106", 487, 619)
PILATUS_2M = Detector("PILATUS 2M", "24-0111", 1475, 1679)
PILATUS_6M = Detector("PILATUS 6M", "60-0112-F", 2463, 2527)


@dataclass(frozen=True)
class FrameParams:
    """What a PILATUS 1.2 header says about one frame (angles in degrees, distance in metres)."""

    name: str
    timestamp: str
    omega: float
    omega_increment: float = 0.1
    phi: float = 0.0
    chi: float = 0.0
    kappa: float = 0.0
    two_theta: float = 0.0
    exposure_time: float = 0.1
    exposure_period: float = 0.1
    wavelength: float = 0.97625
    distance: float = 0.26498
    beam_x: float = 1231.5
    beam_y: float = 1263.5
    axis: str = "X, CW"


def cbf_header(det: Detector, p: FrameParams) -> bytes:
    """A PILATUS 1.2 miniCBF header up to (not including) the binary starter bytes."""
    npix = det.width * det.height
    lines = [
        "###CBF: VERSION 1.5, CBFlib v0.7.8 - PILATUS detectors", "", f"data_{p.name}", "",
        '_array_data.header_convention "PILATUS_1.2"', "_array_data.header_contents", ";",
        f"# Detector: {det.name}, S/N {det.serial}", f"# {p.timestamp}", "# Pixel_size 172e-6 m x 172e-6 m",
        "# Silicon sensor, thickness 0.000450 m", f"# Exposure_time {p.exposure_time:.7f} s",
        f"# Exposure_period {p.exposure_period:.7f} s", "# Tau = 124.0e-09 s", "# Count_cutoff 1048574 counts",
        "# Threshold_setting: 6342 eV", "# Gain_setting: autog (vrf = 1.000)", "# N_excluded_pixels = 19",
        "# Excluded_pixels: badpix_mask.tif", "# Flat_field: (nil)", "# Trim_file: (nil)",
        "# Image_path: /data/visitor/mx0000/", f"# Wavelength {p.wavelength:.5f} A",
        f"# Detector_distance {p.distance:.5f} m", f"# Beam_xy ({p.beam_x:.2f}, {p.beam_y:.2f}) pixels",
        "# Flux 0.000000", "# Filter_transmission 1.0000", f"# Start_angle {p.omega:.4f} deg.",
        f"# Angle_increment {p.omega_increment:.4f} deg.", f"# Detector_2theta {p.two_theta:.4f} deg.",
        "# Polarization 0.990", "# Alpha 0.0000 deg.", f"# Kappa {p.kappa:.4f} deg.", f"# Phi {p.phi:.4f} deg.",
        "# Phi_increment 0.0000 deg.", f"# Chi {p.chi:.4f} deg.", "# Chi_increment 0.0000 deg.",
        f"# Omega {p.omega:.4f} deg.", f"# Omega_increment {p.omega_increment:.4f} deg.",
        f"# Oscillation_axis {p.axis}", "# N_oscillations 1", ";", "", "_array_data.data", ";",
        "--CIF-BINARY-FORMAT-SECTION--", "Content-Type: application/octet-stream;",
        '     conversions="x-CBF_BYTE_OFFSET"', "Content-Transfer-Encoding: BINARY", f"X-Binary-Size: {npix}",
        "X-Binary-ID: 1", 'X-Binary-Element-Type: "signed 32-bit integer"',
        "X-Binary-Element-Byte-Order: LITTLE_ENDIAN", f"X-Binary-Number-of-Elements: {npix}",
        f"X-Binary-Size-Fastest-Dimension: {det.width}", f"X-Binary-Size-Second-Dimension: {det.height}",
        f"X-Binary-Size-Padding: {CBF_PADDING}", "", "",
    ]
    return "\r\n".join(lines).encode("ascii")


_NO_ESCAPE = bytes.maketrans(b"\x80", b"\x7f")  # 0x80 escapes a wider delta in byte_offset


class _Pixels:
    """Byte-offset pixel deltas: the world's bytes for ``seed`` from ``offset``, never 0x80."""

    def __init__(self, seed: str, size: int, offset: int = 0) -> None:
        self.seed, self.size, self.offset = seed, size, offset

    def read(self, start: int, end: int) -> bytes:
        base = self.offset
        return generated(self.seed, base + start, base + min(end, self.size)).translate(_NO_ESCAPE)


def cbf_frame(det: Detector, params: FrameParams, seed: str, offset: int = 0) -> Concat:
    """A whole miniCBF file: header, starter, one byte per pixel, padding, trailer.

    Pixels are the world's bytes of ``seed`` from ``offset`` (frames may share one seed)."""
    npix = det.width * det.height
    trailer = b"\x00" * CBF_PADDING + b"\r\n--CIF-BINARY-FORMAT-SECTION----\r\n;\r\n\r\n"
    return Concat([cbf_header(det, params) + CBF_STARTER, _Pixels(seed, npix, offset), trailer])

__all__ = ["CBF_STARTER", "PILATUS_2M", "PILATUS_300K", "PILATUS_6M", "Detector", "FrameParams", "cbf_frame",
           "cbf_header"]
