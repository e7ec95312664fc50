package hadiscovery

import (
	"bufio"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// laterAbbreviations are keys Home Assistant added after the release whose
// list is in testdata (they appear in later upstream lists and in
// third-party copies of them). A key here that the testdata also has is a
// defect of this list, and so is a key the tables hold that is in neither.
var laterAbbreviations = map[string]string{
	"cmps": "components", "cod_form": "code_format", "curr_hum_t": "current_humidity_topic",
	"curr_hum_tpl": "current_humidity_template", "def_ent_id": "default_entity_id",
	"dir_cmd_t": "direction_command_topic", "dir_cmd_tpl": "direction_command_template",
	"dir_stat_t": "direction_state_topic", "dir_val_tpl": "direction_value_template",
	"ent_pic": "entity_picture", "hs_cmd_tpl": "hs_command_template", "max_kvn": "max_kelvin",
	"min_kvn": "min_kelvin", "o": "origin", "pow_cmd_tpl": "power_command_template",
	"stat_jam": "state_jammed", "stat_locking": "state_locking", "stat_unlocking": "state_unlocking",
	"sug_dsp_prc": "suggested_display_precision", "xy_cmd_tpl": "xy_command_template",
}

var laterDeviceAbbreviations = map[string]string{"mdl_id": "model_id", "sn": "serial_number"}

// readHAAbbreviations reads testdata/ha_abbreviations.txt: the sections
// [ABBREVIATIONS] and [DEVICE_ABBREVIATIONS] of "abbreviation full" lines.
func readHAAbbreviations(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open("testdata/ha_abbreviations.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	var section string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || strings.HasPrefix(s, "#"):
		case strings.HasPrefix(s, "["):
			section = strings.Trim(s, "[]")
			out[section] = map[string]string{}
		default:
			f := strings.Fields(s)
			if len(f) != 2 || section == "" {
				t.Fatalf("testdata line %d: %q", line, s)
			}
			if _, dup := out[section][f[0]]; dup {
				t.Fatalf("testdata line %d: %s twice", line, f[0])
			}
			out[section][f[0]] = f[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The expansion tables are Home Assistant's lists: every upstream pair, and
// beyond them only the keys later releases added.
func TestAbbreviationTablesEqualHomeAssistants(t *testing.T) {
	ha := readHAAbbreviations(t)
	for _, tt := range []struct {
		section string
		table   map[string]string
		later   map[string]string
	}{
		{"ABBREVIATIONS", abbreviations, laterAbbreviations},
		{"DEVICE_ABBREVIATIONS", deviceAbbreviations, laterDeviceAbbreviations},
	} {
		t.Run(tt.section, func(t *testing.T) {
			upstream := ha[tt.section]
			if len(upstream) < 9 {
				t.Fatalf("testdata has %d pairs in %s", len(upstream), tt.section)
			}
			want := maps.Clone(upstream)
			for k, v := range tt.later {
				if _, dup := upstream[k]; dup {
					t.Errorf("%s is listed as later but the testdata has it", k)
				}
				want[k] = v
			}
			for _, k := range slices.Sorted(maps.Keys(want)) {
				if got, ok := tt.table[k]; !ok || got != want[k] {
					t.Errorf("%s: table has %q (present %v), Home Assistant %q", k, got, ok, want[k])
				}
			}
			for _, k := range slices.Sorted(maps.Keys(tt.table)) {
				if _, ok := want[k]; !ok {
					t.Errorf("%s → %s is in the table but not Home Assistant's list", k, tt.table[k])
				}
			}
		})
	}
}

// expandKey uses the table and leaves other keys as they are.
func TestExpandKeyUsesTheTable(t *testing.T) {
	for in, want := range map[string]string{"stat_t": "state_topic", "state_topic": "state_topic",
		"unknown_key": "unknown_key", "dev": "device", "": ""} {
		if got := expandKey(in); got != want {
			t.Errorf("expandKey(%q) = %q, want %q", in, got, want)
		}
	}
	if got := expandDeviceKey("mf"); got != "manufacturer" {
		t.Errorf("expandDeviceKey(mf) = %q", got)
	}
}
