// Package hatemplate renders the subset of Home Assistant's Jinja templates
// that MQTT discovery publishers (Zigbee2MQTT, Tasmota, ESPHome, Z-Wave JS
// UI, OpenMQTTGateway, ...) put in value_template, command_template and
// their relatives.
//
// Supported: literal text, {{ expr }}, {# comments #}, whitespace control
// ({{- -}}, {%- -%}), {% set name = expr %} and {% if %} / {% elif %} /
// {% else %} / {% endif %}. Expressions: variables, attribute and index
// access, string/number/bool/None literals, list and dict literals (keys
// may be numbers or None), x if c else y, or/and/not, comparisons, in /
// not in, + - * / // % ** ~ with Jinja2's precedence (~ binds tighter than
// + and -; a unary sign applies before filters: -value | int is
// (-value) | int), keyword arguments.
// Filters: int(default, base), float(default), round(precision, method,
// default), default/d, lower, upper, capitalize, trim, string, abs, join,
// replace, length/count, first, last, min, max, is_defined, iif,
// is_number, from_json, to_json, as_timestamp, timestamp_local,
// timestamp_utc, timestamp_custom, regex_match, regex_search,
// regex_replace, regex_findall, regex_findall_index. Functions: now(),
// utcnow(), iif, float, int, as_timestamp, is_number, min, max. Tests:
// defined, undefined, none, number, integer, float, boolean, true, false,
// string, mapping, list, sequence, iterable, odd, even, divisibleby, eq,
// ne, lt, le, gt, ge, in, is_number, match, search. Methods: keys(),
// values(), items(), get(); str lower(), upper(), strip(), split(),
// replace(), startswith(), endswith(); datetime isoformat(), timestamp(),
// strftime() and its year..microsecond attributes.
//
// Everything else — for loops, macros, other filters, functions that read
// Home Assistant's state machine (states(), is_state(), ...), slices — is
// refused by Parse with an error that wraps ErrUnsupported and names the
// construct, so discovery can degrade the one property that needs it.
//
// Rendering follows Home Assistant, checked case by case against real
// Jinja2 with Home Assistant's filters by testdata/golden.py (whose
// golden.json the tests read): JSON true renders True, floats as Python's
// repr (21.0 stays 21.0), a missing key is undefined and renders empty,
// int/float/round fail on undefined even with a default, and on bad input
// unless given one. Deliberate differences, listed in golden.py: attribute
// access on an undefined value is undefined rather than an error (the
// effect, no state change, is the same), a JSON object rendered whole or
// iterated lists its keys sorted (Go maps keep no order), regular
// expressions are Go's RE2 (no look-around or back-references: such a
// pattern is an error), and integer overflow falls back to floats.
//
// Work is bounded: templates up to MaxTemplateLen bytes, nesting of
// expressions and if blocks up to 32, output and intermediate strings up to
// MaxOutputLen, regex patterns up to 256 bytes. No loops exist, so a
// render's cost is linear in the template's size (plus linear-time regex
// matching).
package hatemplate
