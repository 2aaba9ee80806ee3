// Shared by every park map layer (parkplan.maps.elements.DataLayer calls these).
// parkplanLayer builds Leaflet layers from a compact GeoJSON whose properties carry
// already-escaped HTML: p = popup, t = tooltip, l = label (DivIcon), b = badge
// (interactive DivIcon), r = radius. parkplanPoints builds circle markers from columns
// (see parkplan.maps.layers.point_payload): x/y coordinates, c = escaped cells (names
// first), h = the popup's row headings, k = style class,
// r = radius; a column is a list or, dictionary-encoded, {d: distinct values, i: index
// per point}.
function parkplanLayer(group, data, o) {
  L.geoJSON(data, {
    pane: o.pane,
    style: function () { return o.style; },
    pointToLayer: function (f, ll) {
      var p = f.properties;
      if (p.l) {
        return L.marker(ll, {pane: o.labelPane, interactive: false, keyboard: false,
          icon: L.divIcon({className: 'pp-label', html: p.l, iconSize: null})});
      }
      if (p.b) {
        return L.marker(ll, {pane: o.pane, keyboard: false,
          icon: L.divIcon({className: 'pp-badge', html: p.b, iconSize: null})});
      }
      return L.circleMarker(ll, L.extend({pane: o.pane, radius: p.r || o.radius}, o.style));
    },
    onEachFeature: function (f, layer) {
      if (f.properties.p) { layer.bindPopup(f.properties.p, {maxWidth: o.popupWidth || 340}); }
      if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true}); }
    }
  }).addTo(group);
}
function ppCell(c, i) { return c.d ? c.d[c.i[i]] : c[i]; }
function parkplanPoints(group, d, o) {
  var n = d.x.length, c = d.c, h = d.h;
  for (var i = 0; i < n; i++) {
    var style = d.k ? o.styles[ppCell(d.k, i)] : o.style;
    var m = L.circleMarker([d.y[i], d.x[i]],
      L.extend({pane: o.pane, radius: d.r ? ppCell(d.r, i) : o.radius}, style));
    var first = ppCell(c[0], i), second = ppCell(c[1], i);
    var html = '<div class="pp-popup"><div class="pp-name">' + first + '</div>' +
      (second ? '<div class="pp-alt">' + second + '</div>' : '') + '<table>';
    for (var j = 0; j < h.length; j++) {
      html += '<tr><th>' + h[j] + '</th><td>' + ppCell(c[j + 2], i) + '</td></tr>';
    }
    m.bindPopup(html + '</table></div>', {maxWidth: 340});
    m.bindTooltip(second ? first + ' / ' + second : first, {sticky: true});
    group.addLayer(m);
  }
}
