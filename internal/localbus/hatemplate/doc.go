// Package hatemplate renders the subset of Home Assistant's Jinja templates
// that MQTT discovery publishers (Zigbee2MQTT, Tasmota, ESPHome, Shelly, ...)
// put in value_template, command_template and their relatives.
//
// Supported: literal text, {{ expr }}, {# comments #}, whitespace control
// ({{- -}}), and {% set name = expr %}. Expressions: variables, attribute and
// index access (a.b, a['b'], a["b"], list[0], list[-1]), string, number,
// bool and None literals, list and dict literals (dict keys may be numbers,
// as Zigbee2MQTT's {0:'off',1:'low'}[value] needs), a if cond else b,
// or/and/not, == != < > <= >= in / not in, + - * / // % ~, the tests
// defined, undefined, none, number, integer, float, boolean, string,
// mapping, the filters int, float, round(n[, method]), lower, upper, trim,
// string, abs, join(sep) and default/d(x[, boolean]), and the methods keys(), values(),
// get(), lower(), upper(), strip().
//
// Everything else — other statements (if, for, macro), other filters
// (timestamp_local, from_json, regex_*), function calls, slices, ** — is
// refused by Parse with an error, so discovery can reject an entity instead
// of guessing at its state.
//
// Rendering follows what Home Assistant produces, because discovery compares
// rendered text with configured payloads: JSON true renders True, false
// False, null None, floats as Python's repr (21.0 stays 21.0, 1e+16), a
// missing key is "undefined" and renders empty (default() replaces it), int
// and float on bad input fail unless given a default (Home Assistant's
// forgiving filters), and round(0) gives an int with ties to even. Two
// deliberate differences: attribute access on an undefined value is
// undefined rather than an error (the effect, no state change, is the
// same), and a JSON object rendered whole lists its keys sorted (Go maps
// keep no order).
//
// Work is bounded: templates up to MaxTemplateLen bytes, nesting up to 32,
// output and intermediate strings up to MaxOutputLen. No loops exist, so a
// render's cost is linear in the template's size.
package hatemplate
