package main

import (
	"log/slog"

	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/shelly"
	"github.com/hubagent/hubagent/internal/localbus/wled"
)

// newDrivers registers the agent's local-bus drivers with the hub: the MQTT
// client and the appliance drivers found by mDNS. Adding a driver is one
// line in the list below (its service type must also be among
// mdns.services to be browsed). Drivers are registered even without mDNS,
// so devices found earlier are still polled at their last address; status
// records in the mDNS table what a driver found out (nil without mDNS).
func newDrivers(cfg *config.Config, h *hub.Hub, mq *localbus.MQTT, status func(mdns.Instance, string),
	log *slog.Logger) (*localbus.Drivers, error) {
	drivers := localbus.NewDrivers(h)
	if err := drivers.Register(mq); err != nil {
		return nil, err
	}
	poll := cfg.Drivers.PollInterval
	for _, d := range []localbus.MDNSDriver{
		wled.New(wled.Options{Hub: h, PollInterval: poll, Status: status, Logger: log.With("driver", wled.Source)}),
		shelly.New(shelly.Options{Hub: h, PollInterval: poll, Password: cfg.Drivers.ShellyPassword, Status: status,
			Logger: log.With("driver", shelly.Source)}),
	} {
		if err := drivers.Register(d); err != nil {
			return nil, err
		}
	}
	return drivers, nil
}
