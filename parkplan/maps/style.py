"""What the park map looks like: layer order, colours, precision and thresholds."""

from __future__ import annotations

#: Layer keys :func:`parkplan.maps.park_map` draws, bottom to top in this order.
LAYER_KEYS = ("districts", "parks", "sites", "institutions", "clusters")
#: Layer keys :func:`parkplan.maps.park_map` reads but does not draw (a plan's space needs).
DATA_KEYS = ("candidates",)

#: Coordinates are written with this many decimals: 1e-6 degree is about 0.1 m,
#: far below anything a park map shows, and it keeps the HTML small.
COORD_DECIMALS = 6

#: Display tolerance for district outlines, in degrees (about 50 m at Shanghai's
#: latitude). District boundaries come from survey data with a vertex every few
#: metres, which would make the HTML megabytes big; at the zooms districts are read
#: at (city to district, zoom 9-13, 20-150 m per pixel) a 50 m deviation is at most a
#: pixel or two. Parks and points are never simplified.
DISTRICT_SIMPLIFY_TOLERANCE = 0.0005

#: With more points than this (all point layers together) vectors are drawn on a
#: canvas: one SVG element per feature makes panning and zooming sluggish from a few
#: thousand features on, while the canvas redraws 10,000 circles within a frame or two.
#: Smaller maps keep SVG (crisp when printed, one DOM element per feature for tests).
CANVAS_MIN_POINTS = 1000

#: Utilisation classes: upper edges of the first four classes (share of a site's
#: floor space the plan's organisations take); the fifth is 90 % and more.
UTILISATION_BINS = (0.25, 0.50, 0.75, 0.90)
#: Fill colours of the utilisation classes, light to dark (ColorBrewer Oranges).
UTILISATION_COLOURS = ("#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603")
#: Outline of a site the plan uses.
UTILISATION_LINE = "#7f2704"
#: Fill and outline of a site the plan does not use.
UNUSED_FILL, UNUSED_LINE = "#ffffff", "#8c8c8c"

#: Where the map opens when there is no data at all (People's Square, Shanghai).
SHANGHAI_CENTRE = (31.2304, 121.4737)

#: Deepest zoom the map fits its data to.
FIT_MAX_ZOOM = 15

#: Outline colour of each layer (the allocation badges' colour is ``--pp-badge`` in
#: ``parkplan/static/maps/parkplan.css``).
COLOURS = {
    "districts": "#6b6b6b",
    "parks": "#1f78b4",
    "sites": "#e6550d",
    "institutions": "#6a51a3",
    "clusters": "#31a354",
}
#: Fill of the district polygons.
DISTRICT_FILL = "#d9d4c7"
