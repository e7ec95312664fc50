package device

// Category is the appliance family of a device.
type Category string

// The categories of the architecture: the CIC appliance families plus the
// common LAN ones.
const (
	CategoryLight          Category = "light"
	CategorySwitch         Category = "switch"
	CategoryCurtain        Category = "curtain"
	CategoryFan            Category = "fan"
	CategoryAirConditioner Category = "airConditioner"
	CategoryThermostat     Category = "thermostat"
	CategoryAirPurifier    Category = "airPurifier"
	CategoryHumidifier     Category = "humidifier"
	CategoryDehumidifier   Category = "dehumidifier"
	CategoryWaterHeater    Category = "waterHeater"
	CategoryRefrigerator   Category = "refrigerator"
	CategoryWasher         Category = "washer"
	CategoryDryer          Category = "dryer"
	CategoryDishwasher     Category = "dishwasher"
	CategoryOven           Category = "oven"
	CategoryRangeHood      Category = "rangeHood"
	CategoryRobotVacuum    Category = "robotVacuum"
	CategoryLock           Category = "lock"
	CategorySensor         Category = "sensor"
	CategoryTV             Category = "tv"
	CategorySpeaker        Category = "speaker"
	CategoryOther          Category = "other"

	// Extensions (docs/protocol.md "Extensions to the profile"): families
	// Home Assistant's MQTT integration has that the profile lacks.
	CategoryAlarmPanel Category = "alarmPanel"
	CategoryValve      Category = "valve"
	CategorySiren      Category = "siren"
	CategoryCamera     Category = "camera"
	CategoryScene      Category = "scene"
	CategoryRemote     Category = "remote" // buttons and triggers that only send events
)

// Categories returns every known category in a stable order.
func Categories() []Category {
	return []Category{
		CategoryLight, CategorySwitch, CategoryCurtain, CategoryFan, CategoryAirConditioner,
		CategoryThermostat, CategoryAirPurifier, CategoryHumidifier, CategoryDehumidifier,
		CategoryWaterHeater, CategoryRefrigerator, CategoryWasher, CategoryDryer, CategoryDishwasher,
		CategoryOven, CategoryRangeHood, CategoryRobotVacuum, CategoryLock, CategorySensor,
		CategoryTV, CategorySpeaker, CategoryOther,
		CategoryAlarmPanel, CategoryValve, CategorySiren, CategoryCamera, CategoryScene, CategoryRemote,
	}
}

// Valid reports whether c is one of the known categories.
func (c Category) Valid() bool {
	for _, k := range Categories() {
		if k == c {
			return true
		}
	}
	return false
}

// Sensitive reports whether the category controls physical access, safety or
// privacy (locks, alarm panels, cameras),
// so exposing it to a partner needs the owner's explicit opt-in even when
// "share everything" was chosen.
func (c Category) Sensitive() bool {
	return c == CategoryLock || c == CategoryAlarmPanel || c == CategoryCamera
}
