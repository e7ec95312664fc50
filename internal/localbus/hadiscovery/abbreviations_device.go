package hadiscovery

// expandDeviceKey expands the abbreviations of the device block.
func expandDeviceKey(k string) string {
	switch k {
	case "cns":
		return "connections"
	case "cu":
		return "configuration_url"
	case "ids":
		return "identifiers"
	case "mf":
		return "manufacturer"
	case "mdl":
		return "model"
	case "mdl_id":
		return "model_id"
	case "hw":
		return "hw_version"
	case "sw":
		return "sw_version"
	case "sn":
		return "serial_number"
	case "sa":
		return "suggested_area"
	}
	return k
}

// expandOriginKey expands the abbreviations of the origin block.
func expandOriginKey(k string) string {
	switch k {
	case "sw":
		return "sw_version"
	case "url":
		return "support_url"
	}
	return k
}

// expandAvailabilityKey expands the abbreviations of an availability list item.
func expandAvailabilityKey(k string) string {
	switch k {
	case "t":
		return "topic"
	case "pl_avail":
		return "payload_available"
	case "pl_not_avail":
		return "payload_not_available"
	case "val_tpl":
		return "value_template"
	}
	return k
}
