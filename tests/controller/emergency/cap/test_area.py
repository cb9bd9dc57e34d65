from __future__ import annotations

import pytest

from controller.emergency.cap import (
    CapArea,
    ZoneGeo,
    describe_unmatched,
    match_zones,
    parse_cap,
    village_area,
    village_radius_km,
)
from controller.emergency.cap.area import haversine_km, point_in_polygon, polygons_intersect
from tests.support.cap import SAMPLES

# Zones around Huế (16.46, 107.59) and one in Hà Nội, far outside every area below.
PHU_HOI = ZoneGeo(code="hue-phu-hoi", latitude=16.4637, longitude=107.5960)
THUAN_AN = ZoneGeo(
    code="thuan-an", latitude=16.5580, longitude=107.6430, geocodes={"VN-ward": "19804"}
)
HUONG_TRA = ZoneGeo(code="huong-tra", latitude=16.53, longitude=107.47)
HANOI = ZoneGeo(code="ha-noi-hoan-kiem", latitude=21.0285, longitude=105.8542)

# A square around central Huế in CAP order, closed by repeating the first point.
HUE_SQUARE = [(16.40, 107.55), (16.40, 107.65), (16.50, 107.65), (16.50, 107.55), (16.40, 107.55)]


def area(**kwargs: object) -> CapArea:
    return CapArea(area_desc="Huế", **kwargs)


def test_polygon_contains_zone_point() -> None:
    zones = [PHU_HOI, THUAN_AN, HUONG_TRA, HANOI]
    assert match_zones([area(polygons=[HUE_SQUARE])], zones) == ["hue-phu-hoi"]


def test_circle_haversine_radius() -> None:
    # Thuận An is ≈ 11.7 km from the centre of Huế.
    centre = (16.46, 107.59)
    distance = haversine_km(centre, (THUAN_AN.latitude, THUAN_AN.longitude))
    assert 11 < distance < 13
    zones = [PHU_HOI, THUAN_AN, HANOI]
    assert match_zones([area(circles=[(*centre, 5.0)])], zones) == ["hue-phu-hoi"]
    assert match_zones([area(circles=[(*centre, 13.0)])], zones) == ["hue-phu-hoi", "thuan-an"]


def test_geocode_needs_same_name_and_value() -> None:
    zones = [PHU_HOI, THUAN_AN, HANOI]
    assert match_zones([area(geocodes=[("VN-ward", "19804")])], zones) == ["thuan-an"]
    assert match_zones([area(geocodes=[("vn-WARD", " 19804")])], zones) == ["thuan-an"]
    assert match_zones([area(geocodes=[("VN-district", "19804")])], zones) == []
    assert match_zones([area(geocodes=[("VN-ward", "19805")])], zones) == []


def test_zone_polygon_overlapping_area_polygon_matches_even_if_centre_outside() -> None:
    # The zone's centre lies west of the square, but its outline reaches into it.
    zone = ZoneGeo(
        code="ven-song",
        latitude=16.45,
        longitude=107.50,
        polygon=[(16.44, 107.48), (16.44, 107.56), (16.46, 107.56), (16.46, 107.48)],
    )
    assert match_zones([area(polygons=[HUE_SQUARE])], [zone]) == ["ven-song"]


def test_crossing_polygons_without_vertices_inside_each_other() -> None:
    # A plus sign: a tall thin and a wide thin rectangle; no vertex of one is inside the other.
    tall = [(16.40, 107.58), (16.40, 107.60), (16.52, 107.60), (16.52, 107.58), (16.40, 107.58)]
    wide = [(16.45, 107.50), (16.45, 107.70), (16.47, 107.70), (16.47, 107.50)]
    assert not any(point_in_polygon(p, wide) for p in tall)
    assert not any(point_in_polygon(p, tall) for p in wide)
    assert polygons_intersect(tall, wide)
    zone = ZoneGeo(code="ngang", latitude=16.46, longitude=107.52, polygon=wide)
    assert match_zones([area(polygons=[tall])], [zone]) == ["ngang"]


def test_zone_polygon_touching_circle() -> None:
    # Outline's nearest edge is ≈ 2.1 km east of the circle centre (0.02° lon at 16.46° N).
    zone = ZoneGeo(
        code="phu-vang",
        latitude=16.46,
        longitude=107.65,
        polygon=[(16.40, 107.61), (16.40, 107.70), (16.52, 107.70), (16.52, 107.61)],
    )
    assert match_zones([area(circles=[(16.46, 107.59, 3.0)])], [zone]) == ["phu-vang"]
    assert match_zones([area(circles=[(16.46, 107.59, 1.5)])], [zone]) == []


def test_far_zone_polygon_does_not_match() -> None:
    hanoi = HANOI.model_copy(
        update={"polygon": [(21.0, 105.8), (21.0, 105.9), (21.1, 105.9), (21.1, 105.8)]}
    )
    areas = [area(polygons=[HUE_SQUARE], circles=[(16.46, 107.59, 50.0)])]
    assert match_zones(areas, [hanoi]) == []


def test_sample_alert_matches_hue_zones_not_hanoi() -> None:
    alert = parse_cap((SAMPLES / "storm_hue.xml").read_bytes())
    zones = [HANOI, THUAN_AN, PHU_HOI, HUONG_TRA]
    # Polygon and circle cover Phú Hội; Thuận An (just north of the polygon) comes in by its
    # geocode; Hương Trà lies just west of the polygon and 12 km from the circle: a near miss.
    assert match_zones(alert.infos[1].areas, zones) == ["hue-phu-hoi", "thuan-an"]


def test_area_without_geometry_matches_nothing_and_says_so() -> None:
    empty = area()
    outside = CapArea(area_desc="Đà Nẵng", circles=[(16.05, 108.20, 5.0)])
    zones = [PHU_HOI, HANOI]
    assert match_zones([empty, outside], zones) == []
    assert describe_unmatched([empty, outside, area(polygons=[HUE_SQUARE])], zones) == [
        "area 'Huế' has no polygon, circle or geocode; it matches no zone",
        "area 'Đà Nẵng' lies outside every configured zone",
    ]


@pytest.mark.parametrize(
    ("point", "inside"),
    [((16.45, 107.60), True), ((16.45, 107.70), False), ((16.39, 107.60), False)],
)
def test_point_in_polygon_open_or_closed_ring(point: tuple[float, float], inside: bool) -> None:
    assert point_in_polygon(point, HUE_SQUARE) is inside
    assert point_in_polygon(point, HUE_SQUARE[:-1]) is inside


# The demo's two villages, 0.87 km apart, and a third with an outline.
DONG = ZoneGeo(code="thon-dong", latitude=21.0285, longitude=105.8542)
TAY = ZoneGeo(code="thon-tay", latitude=21.0301, longitude=105.8460)
BAC = ZoneGeo(
    code="thon-bac",
    latitude=21.0400,
    longitude=105.8500,
    polygon=[(21.038, 105.848), (21.038, 105.852), (21.042, 105.852), (21.042, 105.848)],
    geocodes={"VN-ward": "00004"},
)
VILLAGES = [DONG, TAY, BAC]


def as_area(zone: ZoneGeo) -> CapArea:
    centres = [(z.latitude, z.longitude) for z in VILLAGES]
    return village_area(
        zone.code,
        latitude=zone.latitude,
        longitude=zone.longitude,
        geocodes=zone.geocodes,
        polygon=zone.polygon,
        radius_km=village_radius_km((zone.latitude, zone.longitude), centres, 2.0),
    )


@pytest.mark.parametrize("zone", VILLAGES, ids=lambda z: z.code)
def test_a_village_written_as_an_area_matches_that_village_alone(zone: ZoneGeo) -> None:
    assert match_zones([as_area(zone)], VILLAGES) == [zone.code]


def test_a_circle_reaches_half_way_to_the_nearest_village_and_no_further_than_the_cap() -> None:
    (circle,) = as_area(DONG).circles
    assert circle[:2] == (DONG.latitude, DONG.longitude)
    half_way = haversine_km((21.0285, 105.8542), (21.0301, 105.8460)) / 2
    assert half_way - 0.001 < circle[2] <= half_way
    assert village_radius_km((21.0, 105.0), [(21.0, 105.0)], 2.0) == 2.0  # alone: the cap


def test_an_outline_is_written_closed_with_the_geocodes_and_no_circle() -> None:
    area = as_area(BAC)
    (ring,) = area.polygons
    assert ring[0] == ring[-1]
    assert len(ring) == 5
    assert area.circles == []
    assert area.geocodes == [("VN-ward", "00004")]


def test_a_village_without_geography_is_named_only() -> None:
    area = village_area(
        "Xóm Chợ", latitude=None, longitude=None, geocodes={}, polygon=None, radius_km=1.0
    )
    assert area == CapArea(area_desc="Xóm Chợ")
