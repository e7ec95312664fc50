// Package hadiscovery turns Home Assistant MQTT discovery messages into the
// device model, state messages into property values, and property writes
// into MQTT publishes. It does no I/O: the MQTT client around it subscribes
// to <prefix>/+/+/config and <prefix>/+/+/+/config, hands every message to
// ParseConfig, groups entities by DeviceKey into BuildDevice, subscribes to
// each entity's StateTopics and AvailabilityTopics, and feeds messages to
// DecodeState and an Availability; writes go through Binding.Split and
// EncodeCommand.
//
// Device-based discovery (<prefix>/device/<id>/config, "cmps") is read by
// ParseDeviceConfig: shared keys merged under each component's own, each
// component parsed as a per-entity config, identity "<topic>#<component>".
//
// Degradation is per property: a template outside the hatemplate subset,
// or a field the agent cannot use, costs only the properties that need it
// (read side, write side, or both); Entity.Warnings names the component,
// the key and the construct. Only an entity left with nothing is refused.
//
// Parsing. An empty config payload is a removal (ErrRemoved). Abbreviations
// (stat_t, cmd_t, dev/ids/mf/mdl/mdl_id/cns/sa, avty/t/pl_avail, ...) and a
// leading or trailing "~" in topics are expanded first; a full key wins over
// its abbreviation. Refused, with the reason: unsupported components,
// configs over 64 KiB, JSON nested deeper than 32, anything but a JSON
// object, topics with wildcards, missing required keys, unknown light
// schemas, and entities that have nothing left to read or control.
//
// Properties use the architecture's standard names. light: power,
// brightness (int %, scaled from brightness_scale, default 255),
// colorTemperature (int K from mireds, or K with color_temp_kelvin; range
// from min/max_mireds or min/max_kelvin), color (#rrggbb, sent as rgb, xy
// or hs as the light supports). switch: power. lock: locked. cover:
// position (int %, 0 closed, scaled between position_closed and
// position_open; with no position_topic, state_open/state_closed read as
// 100/0) and motion (write-only open/close/stop; a null payload drops an
// action). climate: mode, targetTemperature and currentTemperature (°C,
// converted from temperature_unit F), fanSpeed (fan_modes), humidity,
// targetHumidity; category airConditioner when modes include cool, else
// thermostat. water_heater: mode, targetTemperature, currentTemperature,
// power. fan: power, fanSpeed (int % over speed_range_min..max, or the
// preset enum when there is no percentage; presets are mode when both).
// humidifier: power, targetHumidity, mode, humidity. vacuum: status (enum),
// battery, fanSpeed, action (write-only enum start/stop/pause/
// return_to_base/clean_spot/locate). sensor by device_class:
// currentTemperature, humidity, battery, illuminance, power_W, energy_kWh
// (converted from F/K, kW, Wh), pm25, co2, else a lowerCamel name from the
// entity name or object id (float with a unit or state_class, else string);
// "None" reads as null. binary_sensor: contact (door/window/opening/
// garage_door; true = closed, contact made, as Zigbee2MQTT reports it, so
// Home Assistant "on" = open reads false), occupancy (motion/occupancy/
// presence), leak (moisture), smoke, else lowerCamel. number: int when
// min/max/step are whole, else float. select: enum of options. button: a
// write-only bool named after the entity; writing true publishes
// payload_press, false publishes nothing. alarm_control_panel, valve,
// siren, scene, update, text, device_tracker, event, device_automation,
// tag and camera: see their component_*.go files and docs/protocol.md.
//
// Devices. Entities sharing device.identifiers[0] (else the first
// connection) are one device; an entity with neither is its own device,
// keyed by unique_id or config topic. The device ID is "mqtt-" plus the key
// when the key is plain [A-Za-z0-9_.-], else sanitised with a hash suffix,
// at most 128 bytes. The main entity (climate > light > fan > cover > lock >
// switch > humidifier > water_heater > vacuum > sensors) gives the
// category. When two entities provide one name, the first in that order
// (then by config topic) keeps it and the others become name_<object id>.
// Device.Binding holds a Binding: per entity, its config topic and the
// device-name → entity-name map, so state and writes route to the right
// entity.
//
// State and commands follow Home Assistant: a state that renders to
// nothing known (an unknown payload, a missing JSON key, a failing
// template) changes nothing; payload_on/off and state_on/off are compared
// as text, with JSON true in a config meaning "True". Writes are checked
// against the property first. json-schema lights send one JSON object
// ({"state":"ON","brightness":128}); power=false sends only
// {"state":"OFF"}. Default-schema lights publish brightness/colour topics
// and payload_on in the order on_command_type asks. Optimistic entities
// (no state topic, or optimistic: true) never echo, so the hub confirms
// them at once.
package hadiscovery
