"""Match CAP <area> blocks to our zones by geocode, polygon or circle.

Geometry is planar in (lon, lat) for polygons: fine at commune scale and far from the
antimeridian and poles, which covers Vietnam. Circles use great-circle (haversine) distance.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from controller.emergency.cap.models import CapArea, LatLon

_EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


class ZoneGeo(BaseModel):
    """A zone's location: its centre point, codes such as {"VN-ward": "19804"}, optional outline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    latitude: float
    longitude: float
    geocodes: dict[str, str] = {}
    polygon: list[LatLon] | None = None  # (lat, lon), closed or not


def haversine_km(a: LatLon, b: LatLon) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def point_in_polygon(point: LatLon, polygon: list[LatLon]) -> bool:
    """Ray casting (even-odd rule); works whether or not the ring repeats its first point."""
    lat, lon = point
    inside = False
    n = len(polygon)
    for i in range(n):
        lat1, lon1 = polygon[i]
        lat2, lon2 = polygon[(i + 1) % n]
        if (lat1 > lat) != (lat2 > lat):
            lon_cross = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < lon_cross:
                inside = not inside
    return inside


def _edges(polygon: list[LatLon]) -> list[tuple[LatLon, LatLon]]:
    return [(polygon[i], polygon[(i + 1) % len(polygon)]) for i in range(len(polygon))]


def _cross(o: LatLon, a: LatLon, b: LatLon) -> float:
    return (a[1] - o[1]) * (b[0] - o[0]) - (a[0] - o[0]) * (b[1] - o[1])


def _segments_cross(p: tuple[LatLon, LatLon], q: tuple[LatLon, LatLon]) -> bool:
    d1, d2 = _cross(q[0], q[1], p[0]), _cross(q[0], q[1], p[1])
    d3, d4 = _cross(p[0], p[1], q[0]), _cross(p[0], p[1], q[1])
    return (d1 * d2 < 0) and (d3 * d4 < 0)


def polygons_intersect(a: list[LatLon], b: list[LatLon]) -> bool:
    """True if any vertex of one lies inside the other or any two edges cross."""
    if any(point_in_polygon(p, b) for p in a) or any(point_in_polygon(p, a) for p in b):
        return True
    return any(_segments_cross(e, f) for e in _edges(a) for f in _edges(b))


def _segment_distance_km(c: LatLon, a: LatLon, b: LatLon) -> float:
    # Equirectangular projection around the circle centre: accurate to well under 1 % at
    # the tens of kilometres an alert circle spans.
    k = math.cos(math.radians(c[0]))

    def xy(p: LatLon) -> tuple[float, float]:
        return ((p[1] - c[1]) * k, p[0] - c[0])

    (ax, ay), (bx, by) = xy(a), xy(b)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    px, py = ax + t * dx, ay + t * dy
    return math.radians(math.hypot(px, py)) * _EARTH_RADIUS_KM


def _zone_in_area(zone: ZoneGeo, area: CapArea) -> bool:
    zone_codes = {(k.lower(), v.strip()) for k, v in zone.geocodes.items()}
    if any((name.lower(), value.strip()) in zone_codes for name, value in area.geocodes):
        return True
    centre = (zone.latitude, zone.longitude)
    for polygon in area.polygons:
        if point_in_polygon(centre, polygon):
            return True
        if zone.polygon and polygons_intersect(zone.polygon, polygon):
            return True
    for lat, lon, radius_km in area.circles:
        if haversine_km(centre, (lat, lon)) <= radius_km:
            return True
        if zone.polygon and (
            point_in_polygon((lat, lon), zone.polygon)
            or any(
                _segment_distance_km((lat, lon), a, b) <= radius_km for a, b in _edges(zone.polygon)
            )
        ):
            return True
    return False


def match_zones(areas: list[CapArea], zones: list[ZoneGeo]) -> list[str]:
    """Sorted codes of the zones touched by any of `areas`."""
    return sorted({z.code for z in zones if any(_zone_in_area(z, a) for a in areas)})


def describe_unmatched(areas: list[CapArea], zones: list[ZoneGeo]) -> list[str]:
    """One line per area that reaches none of `zones`, saying why, for the audit log."""
    notes = []
    for area in areas:
        if not (area.geocodes or area.polygons or area.circles):
            notes.append(
                f"area {area.area_desc!r} has no polygon, circle or geocode; it matches no zone"
            )
        elif not any(_zone_in_area(z, area) for z in zones):
            notes.append(f"area {area.area_desc!r} lies outside every configured zone")
    return notes


def village_area(
    name: str,
    *,
    latitude: float | None,
    longitude: float | None,
    geocodes: dict[str, str],
    polygon: list[LatLon] | None,
    radius_km: float,
) -> CapArea:
    """The reverse of `match_zones`: one village as a CAP <area> that maps back to it.

    Its outline when it has one (closed, as CAP requires), else a circle of ``radius_km`` round
    its centre; its geocodes either way. A village without geography is named only.
    """
    ring = list(polygon or [])
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    polygons = [ring] if len(ring) >= 4 else []  # a closed ring of at least three corners
    circles = []
    if not polygons and latitude is not None and longitude is not None:
        circles = [(latitude, longitude, radius_km)]
    return CapArea(
        area_desc=name,
        polygons=polygons,
        circles=circles,
        geocodes=sorted((k, str(v)) for k, v in geocodes.items()),
    )


def village_radius_km(centre: LatLon, others: list[LatLon], largest_km: float) -> float:
    """How far a village's circle reaches when it has no outline: half the way to the nearest
    other village's centre, at most ``largest_km``, so that the circle never takes in another
    village's centre (a consumer matching points, ours included, gets exactly this village)."""
    distances = [haversine_km(centre, other) for other in others if other != centre]
    # Whole metres, rounded down: short to read, and never past the half-way point.
    return math.floor(min([largest_km, *(d / 2 for d in distances)]) * 1000) / 1000
