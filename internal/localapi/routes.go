package localapi

import (
	"net/url"
	"strings"
)

// The local API's routes, in http.ServeMux path syntax: every route the
// agent serves on its socket is here, registered as Method+" "+Path by the
// part of the agent that serves it and called through the typed Client
// methods. A new route goes here first.
const (
	PathStatus        = "/v1/status"               // GET: Status
	PathDevices       = "/v1/devices"              // GET: []device.Device
	PathDevice        = "/v1/devices/{id}"         // GET: device.Device
	PathDeviceControl = "/v1/devices/{id}/control" // POST ControlRequest: ControlResult
	PathMetrics       = "/metrics"                 // GET: Prometheus text

	PathDiscoveredMQTT = "/v1/discovered/mqtt" // GET: []localbus.DiscoveredConfig
	PathDiscoveredMDNS = "/v1/discovered/mdns" // GET: []mdns.Instance; absent when mDNS is off
	PathMDNSInterfaces = "/v1/mdns/interfaces" // GET: mdns.StackStatus; absent when mDNS is off

	PathTunnel       = "/v1/tunnel"        // GET: tunnel.Status
	PathTunnelReload = "/v1/tunnel/reload" // POST: tunnel.Status after re-reading the settings

	PathPartnerRemove = "/v1/partners/{id}/remove" // POST: {} once the partner is removed and told
)

// Pattern is the ServeMux pattern of a route: "GET /v1/status".
func Pattern(method, path string) string { return method + " " + path }

// pathWith fills a route's {id} with id, escaped as one path segment.
func pathWith(path, id string) string {
	return strings.Replace(path, "{id}", url.PathEscape(id), 1)
}
