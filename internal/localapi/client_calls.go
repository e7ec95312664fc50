package localapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

// Status is the running agent's identity (GET PathStatus).
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	return st, c.Get(ctx, PathStatus, &st)
}

// Devices lists the agent's devices (GET PathDevices).
func (c *Client) Devices(ctx context.Context) ([]device.Device, error) {
	var ds []device.Device
	return ds, c.Get(ctx, PathDevices, &ds)
}

// Device returns one device (GET PathDevice); an unknown id is a
// *device.Error with CodeDeviceNotFound.
func (c *Client) Device(ctx context.Context, id string) (device.Device, error) {
	var d device.Device
	return d, c.Get(ctx, pathWith(PathDevice, id), &d)
}

// Control sets properties of a device and returns its state after
// (POST PathDeviceControl).
func (c *Client) Control(ctx context.Context, id string, props map[string]device.Value) (ControlResult, error) {
	var res ControlResult
	return res, c.Do(ctx, http.MethodPost, pathWith(PathDeviceControl, id), ControlRequest{Properties: props}, &res)
}

// DiscoveredMQTT lists the discovery configs seen (GET PathDiscoveredMQTT).
func (c *Client) DiscoveredMQTT(ctx context.Context) ([]localbus.DiscoveredConfig, error) {
	out := []localbus.DiscoveredConfig{}
	return out, c.Get(ctx, PathDiscoveredMQTT, &out)
}

// DiscoveredMDNS lists the mDNS instances seen (GET PathDiscoveredMDNS),
// raw so that fields a newer agent adds pass through. An agent without
// mDNS answers a *StatusError with code 404.
func (c *Client) DiscoveredMDNS(ctx context.Context) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	return out, c.Get(ctx, PathDiscoveredMDNS, &out)
}

// MDNSInterfaces says where the mDNS stack runs (GET PathMDNSInterfaces).
func (c *Client) MDNSInterfaces(ctx context.Context) (mdns.StackStatus, error) {
	var st mdns.StackStatus
	return st, c.Get(ctx, PathMDNSInterfaces, &st)
}

// Tunnel returns the tunnel's state (GET PathTunnel).
func (c *Client) Tunnel(ctx context.Context) (tunnel.Status, error) {
	var st tunnel.Status
	return st, c.Get(ctx, PathTunnel, &st)
}

// ReloadTunnel makes the agent re-read its tunnel settings and rebuild the
// tunnel (POST PathTunnelReload); it answers the state right after.
func (c *Client) ReloadTunnel(ctx context.Context) (tunnel.Status, error) {
	var st tunnel.Status
	return st, c.Do(ctx, http.MethodPost, PathTunnelReload, nil, &st)
}

// RemovePartner removes a partner through the agent, which tells it
// AccountUnlinked (POST PathPartnerRemove).
func (c *Client) RemovePartner(ctx context.Context, clientID string) error {
	return c.Do(ctx, http.MethodPost, pathWith(PathPartnerRemove, clientID), nil, nil)
}
