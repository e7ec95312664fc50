#!/usr/bin/env python3
"""Renders every hatemplate golden case with real Jinja2 and writes golden.json.

Run from anywhere:  python3 internal/localbus/hatemplate/testdata/golden.py
Needs Debian's python3-jinja2 (Jinja2 3.1). The Go test (golden_test.go)
reads golden.json and compares hatemplate's output with Jinja2's.

The environment is the one Home Assistant renders MQTT templates in: an
ImmutableSandboxedEnvironment with plain Undefined (Home Assistant's logs
but behaves the same) and Home Assistant's own filters, globals and tests,
re-implemented below after homeassistant/helpers/template.py, because
Jinja2 lacks them. Approximations of Home Assistant (documented here so a
reader can judge them):
  * parse_datetime (as_timestamp on text) is datetime.fromisoformat; naive
    times are in the local zone, which is UTC here, as in the Go test.
  * now()/utcnow() return one fixed instant, NOW, the Go test's clock.
  * to_json is json.dumps compact (orjson writes the same for these cases).
Home Assistant strips the rendered text of state templates; that is done
by the discovery code, not the template engine, so it is not done here.

Cases whose Go result deliberately differs are listed in DIFFERENCES with
the reason; golden.json carries both results and the Go test checks that
hatemplate produces exactly the documented one.
"""
import datetime as dt
import json
import math
import os
import re
import sys

import jinja2
from jinja2 import pass_environment
from jinja2.sandbox import ImmutableSandboxedEnvironment

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 3, 10, 14, 5, 9, 123456, tzinfo=UTC)
_SENTINEL = object()


def raise_no_default(function, value):
    raise ValueError(f"Template error: {function} got invalid input '{value}' and no default was specified")


def forgiving_float(value, default=_SENTINEL):
    try:
        return float(value)
    except (ValueError, TypeError):
        if default is _SENTINEL:
            raise_no_default("float", value)
        return default


def forgiving_int(value, default=_SENTINEL, base=10):
    result = jinja2.filters.do_int(value, default=default, base=base)
    if result is _SENTINEL:
        raise_no_default("int", value)
    return result


def forgiving_round(value, precision=0, method="common", default=_SENTINEL):
    try:
        multiplier = float(10**precision)
        if method == "ceil":
            value = math.ceil(float(value) * multiplier) / multiplier
        elif method == "floor":
            value = math.floor(float(value) * multiplier) / multiplier
        elif method == "half":
            value = round(float(value) * 2) / 2
        else:
            value = round(float(value), precision)
        return int(value) if precision == 0 else value
    except (ValueError, TypeError):
        if default is _SENTINEL:
            raise_no_default("round", value)
        return default


def is_number(value):
    if isinstance(value, bool):
        return False
    try:
        fvalue = float(value)
    except (ValueError, TypeError):
        return False
    if not math.isfinite(fvalue):
        return False
    return True


def iif(value, if_true=True, if_false=False, if_none=_SENTINEL):
    if value is None and if_none is not _SENTINEL:
        return if_none
    if bool(value):
        return if_true
    return if_false


def fail_when_undefined(value):
    if isinstance(value, jinja2.Undefined):
        value()
    return value


def parse_datetime(s):
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return d


def as_timestamp(value, default=_SENTINEL):
    try:
        if isinstance(value, dt.datetime):
            parsed = value
        else:
            parsed = parse_datetime(str(value))
        if parsed is None:
            raise ValueError("not a valid date/time.")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, TypeError):
        if default is _SENTINEL:
            raise_no_default("as_timestamp", value)
        return default


def utc_from_timestamp(value):
    return dt.datetime.fromtimestamp(value, UTC)


def timestamp_local(value, default=_SENTINEL):
    try:
        return utc_from_timestamp(value).astimezone(UTC).isoformat()
    except (ValueError, TypeError, OverflowError, OSError):
        if default is _SENTINEL:
            raise_no_default("timestamp_local", value)
        return default


def timestamp_utc(value, default=_SENTINEL):
    try:
        return utc_from_timestamp(value).isoformat()
    except (ValueError, TypeError, OverflowError, OSError):
        if default is _SENTINEL:
            raise_no_default("timestamp_utc", value)
        return default


def timestamp_custom(value, date_format="%Y-%m-%d %H:%M:%S", local=True, default=_SENTINEL):
    try:
        date = utc_from_timestamp(value)
        if local:
            date = date.astimezone(UTC)
        return date.strftime(date_format)
    except (ValueError, TypeError, OverflowError, OSError):
        if default is _SENTINEL:
            raise_no_default("timestamp_custom", value)
        return default


def regex_match(value, find="", ignorecase=False):
    if not isinstance(value, str):
        value = str(value)
    return bool(re.compile(find, re.I if ignorecase else 0).match(value))


def regex_search(value, find="", ignorecase=False):
    if not isinstance(value, str):
        value = str(value)
    return bool(re.compile(find, re.I if ignorecase else 0).search(value))


def regex_replace(value="", find="", replace="", ignorecase=False):
    if not isinstance(value, str):
        value = str(value)
    return re.compile(find, re.I if ignorecase else 0).sub(replace, value)


def regex_findall(value, find="", ignorecase=False):
    if not isinstance(value, str):
        value = str(value)
    return re.compile(find, re.I if ignorecase else 0).findall(value)


def regex_findall_index(value, find="", index=0, ignorecase=False):
    return regex_findall(value, find, ignorecase)[index]


def from_json(value, default=_SENTINEL):
    try:
        return json.loads(value)
    except (ValueError, TypeError):
        if default is _SENTINEL:
            raise_no_default("from_json", value)
        return default


def to_json(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def min_max_from_filter(builtin_filter, name):
    @pass_environment
    def wrapper(environment, *args, **kwargs):
        if len(args) == 0:
            raise TypeError(f"{name} expected at least 1 argument, got 0")
        if len(args) == 1:
            return builtin_filter(environment, *args, **kwargs)
        return builtin_filter(environment, args, **kwargs)
    return wrapper


def make_env():
    env = ImmutableSandboxedEnvironment()
    f = env.filters
    f.update(float=forgiving_float, int=forgiving_int, round=forgiving_round, is_defined=fail_when_undefined,
             iif=iif, is_number=is_number, as_timestamp=as_timestamp, timestamp_local=timestamp_local,
             timestamp_utc=timestamp_utc, timestamp_custom=timestamp_custom, regex_match=regex_match,
             regex_search=regex_search, regex_replace=regex_replace, regex_findall=regex_findall,
             regex_findall_index=regex_findall_index, from_json=from_json, to_json=to_json)
    g = env.globals
    g.update(float=forgiving_float, int=forgiving_int, iif=iif, is_number=is_number, as_timestamp=as_timestamp,
             now=lambda: NOW, utcnow=lambda: NOW.astimezone(UTC),
             min=min_max_from_filter(f["min"], "min"), max=min_max_from_filter(f["max"], "max"))
    env.tests.update(is_number=is_number, match=regex_match, search=regex_search)
    return env


Z2M_COVER = ('{% if "running" in value_json and value_json.running %} {% if value_json.position > 0 %} closing '
             '{% else %} opening {% endif %} {% else %} stopped {% endif %}')
Z2M_HVAC = ("{% set values = {None:None,'idle':'idle','heat':'heating','cool':'cooling','fan_only':'fan'} %}"
            "{{ values[value_json.running_state] }}")

# name, template, payload (value; value_json when JSON), extra variables
CASES = [
    ("plain value", "{{ value }}", "ON", None),
    ("z2m attribute", "{{ value_json.temperature }}", '{"temperature":21.0,"humidity":45}', None),
    ("float keeps fraction like python", "{{ value_json.t }}", '{"t":21.50}', None),
    ("int stays int", "{{ value_json.t }}", '{"t":21}', None),
    ("humidity keeps precision", "{{ value_json.humidity }}", '{"humidity":58.3}', None),
    ("nested attributes", "{{ value_json.a.b }}", '{"a":{"b":"x"}}', None),
    ("single-quoted index", "{{ value_json['a'] }}", '{"a":3}', None),
    ("double-quoted chained index", '{{ value_json["ENERGY"]["Power"] }}', '{"ENERGY":{"Power":12.5}}', None),
    ("list index", "{{ value_json.list[0] }}", '{"list":[7,8]}', None),
    ("negative list index", "{{ value_json.list[-1] }}", '{"list":[7,8]}', None),
    ("json true renders True", "{{ value_json.contact }}", '{"contact":true}', None),
    ("json false renders False", "{{ value_json.contact }}", '{"contact":false}', None),
    ("json null renders None", "{{ value_json.x }}", '{"x":null}', None),
    ("missing key renders empty", "{{ value_json.nope }}", '{"x":1}', None),
    ("missing chain", "{{ value_json.a.b.c }}", '{"x":1}', None),
    ("value_json undefined for non-json", "{{ value_json.x }}", "ON", None),
    ("default replaces missing", "{{ value_json.x | default('n/a') }}", "{}", None),
    ("default keeps present", "{{ value_json.x | default('n/a') }}", '{"x":0}', None),
    ("default boolean mode", "{{ value_json.x | default('n/a', true) }}", '{"x":""}', None),
    ("default keyword boolean", "{{ value_json.x | default('n/a', boolean=true) }}", '{"x":""}', None),
    ("int filter truncates", "{{ value | int }}", "21.7", None),
    ("int filter default", "{{ value | int(5) }}", "abc", None),
    ("int filter base 16", "{{ value | int(base=16) }}", "0x1A", None),
    ("float filter", "{{ value | float }}", "21", None),
    ("float filter default", "{{ value | float(0) }}", "n/a", None),
    ("round to int", "{{ value | float | round }}", "21.5", None),
    ("round ties to even", "{{ 2.5 | round }}", "", None),
    ("round precision", "{{ value_json.v | round(1) }}", '{"v":21.46}', None),
    ("round floor", "{{ value | round(1, 'floor') }}", "21.46", None),
    ("round ceil", "{{ value | round(0, 'ceil') }}", "21.1", None),
    ("round half", "{{ value | round(1, 'half') }}", "21.3", None),
    ("round default", "{{ value | round(1, default=0) }}", "x", None),
    ("round scale brightness like python", "{{ (value | float * 2.55) | round(0) | int }}", "50", None),
    ("lower", "{{ value_json.state | lower }}", '{"state":"ON"}', None),
    ("upper", "{{ value | upper }}", "off", None),
    ("capitalize", "{{ value | capitalize }}", "hELLO", None),
    ("trim", "{{ value | trim }}", "  x  ", None),
    ("replace filter", "{{ value | replace('_', ' ') }}", "a_b_c", None),
    ("replace count", "{{ value | replace('_', ' ', 1) }}", "a_b_c", None),
    ("is defined", "{{ 'yes' if value_json.x is defined else 'no' }}", '{"x":1}', None),
    ("is not defined", "{{ 'yes' if value_json.x is not defined else 'no' }}", '{"x":1}', None),
    ("inline if ==", "{{ 'ON' if value_json.state == 'on' else 'OFF' }}", '{"state":"on"}', None),
    ("inline if !=", "{{ 'ON' if value != '0' else 'OFF' }}", "0", None),
    ("inline if in list", "{{ 'open' if value in ['1', 'open'] else 'closed' }}", "open", None),
    ("inline if not in", "{{ 'x' if value not in ['a'] else 'y' }}", "b", None),
    ("and or not", "{{ 'yes' if value_json.a > 1 and not value_json.b or value_json.c < 0 else 'no' }}",
     '{"a":2,"b":false,"c":1}', None),
    ("if without else is empty", "{{ 'x' if false }}", "", None),
    ("z2m set dict lookup", "{% set v = {'idle':'off','heat':'heat'} %}{{ v[value_json.running_state] }}",
     '{"running_state":"idle"}', None),
    ("z2m keys membership",
     "{% set values = {'auto':'heat_cool','heat':'heat'} %}{{ values[value_json.system_mode] if value_json.system_mode in values.keys() else 'off' }}",
     '{"system_mode":"sleep"}', None),
    ("z2m hvac action with None key", Z2M_HVAC, '{"running_state":"heat"}', None),
    ("dict with int keys", "{{ {0:'off', 1:'low', 2:'high'}[value | int] }}", "1", None),
    ("int key matches float", "{{ {1:'a'}[1.0] }}", "", None),
    ("dict get default", "{{ value_json.get('x', 'd') }}", "{}", None),
    ("literal text around", "pos={{ value }}%", "40", None),
    ("json command template", '{"position": {{ value }} }', "40", None),
    ("whitespace control", "a {{- value -}} b", "x", None),
    ("comment dropped", "{# note #}{{ value }}", "x", None),
    ("arithmetic", "{{ value | int * 10 // 3 }}", "7", None),
    ("true division is float", "{{ value | int / 2 }}", "4", None),
    ("python modulo", "{{ -7 % 3 }}", "", None),
    ("power", "{{ 2 ** 10 }}", "", None),
    ("power binds tighter than unary minus like jinja", "{{ -2 ** 2 }}", "", None),
    ("concat tilde", "{{ value ~ '!' }}", "hi", None),
    ("tilde binds tighter than plus", "{{ 1 + 2 ~ 'a' }}", "", None),
    ("tilde below multiply", "{{ 'a' ~ 2 * 3 }}", "", None),
    ("list renders like python", "{{ [1, 'a', true, none] }}", "", None),
    ("big float exponent", "{{ 1e16 }}", "", None),
    ("small float exponent", "{{ 0.00001 }}", "", None),
    ("negative of string value then int", "{{ -value | int }}", "3", None),
    ("negative of int value", "{{ -(value | int) }}", "3", None),
    ("negative json number", "{{ -value_json.t }}", '{"t":2.5}', None),
    ("string index", "{{ value[0] }}", "abc", None),
    ("equal number int float", "{{ value_json.a == 1 }}", '{"a":1.0}', None),
    ("bool equals int like python", "{{ true == 1 }}", "", None),
    ("undefined in undefined", "{{ 'a' in value_json.nope }}", "{}", None),
    ("dict literal renders ordered", "{{ {'b': 1, 'a': 2} }}", "", None),
    ("join list", "{{ value_json.rgb | join(',') }}", '{"rgb":[255,0,10]}', None),
    ("set then multiple uses", "{% set x = value | int %}{{ x + 1 }},{{ x * 2 }}", "4", None),
    ("test binds before plus", "{{ 1 + value_json.x is defined }}", '{"x":1}', None),
    ("test after filter", "{{ value | int is number }}", "3", None),
    # if / elif / else
    ("if statement true", "{% if value == 'on' %}ON{% else %}OFF{% endif %}", "on", None),
    ("if statement false", "{% if value == 'on' %}ON{% else %}OFF{% endif %}", "off", None),
    ("if without else false", "{% if value %}x{% endif %}", "", None),
    ("elif chain", "{% if value_json.m == 1 %}heat{% elif value_json.m == 2 %}cool{% elif value_json.m == 3 %}auto{% else %}off{% endif %}",
     '{"m":2}', None),
    ("elif chain else", "{% if value_json.m == 1 %}heat{% elif value_json.m == 2 %}cool{% else %}off{% endif %}",
     '{"m":9}', None),
    ("nested if", "{% if value_json.a %}{% if value_json.b %}ab{% else %}a{% endif %}{% else %}none{% endif %}",
     '{"a":1,"b":0}', None),
    ("z2m cover running closing", Z2M_COVER, '{"running":true,"position":40}', None),
    ("z2m cover running opening", Z2M_COVER, '{"running":true,"position":0}', None),
    ("z2m cover stopped", Z2M_COVER, '{"running":false,"position":40}', None),
    ("z2m cover no running key", Z2M_COVER, '{"position":40}', None),
    ("whitespace control in if", "{%- if value == '1' -%}  open  {%- else -%}  closed  {%- endif -%}", "1", None),
    ("set inside if is visible after", "{% if true %}{% set x = 'in' %}{% endif %}{{ x }}", "", None),
    ("omg device tracker", "{% if value_json.get('rssi') -%}home{%- else -%}not_home{%- endif %}", '{"rssi":-70}', None),
    ("omg device tracker away", "{% if value_json.get('rssi') -%}home{%- else -%}not_home{%- endif %}", '{"id":"x"}', None),
    ("switch float threshold", "{% if value_json.k | float(0) > 0.5 %}ON{% else %}OFF{% endif %}", '{"k":"0.7"}', None),
    ("select by int index", "{% if value_json.c | default(0) | int == 0 %}low{% elif value_json.c | default(0) | int == 1 %}high{% else %}low{% endif %}",
     '{"c":1}', None),
    ("text with if and expression", "{% if value_json.type == 'incoming' %}{{ value_json.from if value_json.from is defined and value_json.from != '' else 'Unknown' }}{% else %}idle{% endif %}",
     '{"type":"incoming","from":"+331"}', None),
    # functions
    ("iif function", "{{ iif(value == 'on', 'ON', 'OFF') }}", "on", None),
    ("iif filter", "{{ (value | int > 5) | iif('high', 'low') }}", "3", None),
    ("iif none", "{{ iif(value_json.x, 'y', 'n', 'unknown') }}", '{"x":null}', None),
    ("iif default values", "{{ iif(value) }}", "", None),
    ("float function default", "{{ float(value, 0) }}", "abc", None),
    ("int function", "{{ int(value) + 1 }}", "41", None),
    ("int function default", "{{ int(value_json.x, -1) }}", '{"x":"?"}', None),
    ("min max functions", "{{ min(3, value | int) }}-{{ max([1, 5, 2]) }}", "4", None),
    ("min max filters", "{{ value_json.l | min }} {{ value_json.l | max }}", '{"l":[4,1,9]}', None),
    ("max strings case-insensitive", "{{ ['b', 'A', 'c'] | max }}", "", None),
    ("is_number", "{{ is_number(value) }} {{ value is is_number }} {{ 'x' | is_number }}", "3.5", None),
    ("now isoformat", "{{ now().isoformat() }}", "", None),
    ("now str", "{{ now() }}", "", None),
    ("now hour", "{{ now().hour }}", "", None),
    ("now strftime", "{{ now().strftime('%Y-%m-%d %H:%M:%S') }}", "", None),
    ("as_timestamp now", "{{ as_timestamp(now()) }}", "", None),
    ("as_timestamp of iso text", "{{ as_timestamp(value) }}", "2024-03-10T14:05:09+01:00", None),
    ("as_timestamp naive text", "{{ as_timestamp(value) | int }}", "2024-03-10 14:05:09", None),
    ("as_timestamp filter default", "{{ value | as_timestamp(0) }}", "garbage", None),
    ("as_timestamp no default", "{{ value | as_timestamp }}", "garbage", None),
    ("timestamp_local", "{{ value | int | timestamp_local }}", "1700000000", None),
    ("timestamp_utc", "{{ value_json.t | timestamp_utc }}", '{"t":1700000000.5}', None),
    ("timestamp_custom", "{{ value | int | timestamp_custom('%H:%M') }}", "1700000000", None),
    ("timestamp_custom utc keyword", "{{ value | int | timestamp_custom('%d.%m.%Y %H:%M:%S', local=false) }}", "1700000000", None),
    ("timestamp_local of text default", "{{ value | timestamp_local('-') }}", "x", None),
    ("uptime from now", "{{ (as_timestamp(now()) - value | float) | int }}", "1710079000", None),
    # regex
    ("regex_match", "{{ value | regex_match('^[0-9]+$') }}", "1234", None),
    ("regex_match anchored at start", "{{ value | regex_match('b') }}", "abc", None),
    ("regex_search", "{{ value | regex_search('b') }}", "abc", None),
    ("regex_search ignorecase", "{{ value | regex_search('B', ignorecase=true) }}", "abc", None),
    ("regex_replace", "{{ value | regex_replace('[^0-9.]', '') }}", "21.5 C", None),
    ("regex_replace group", "{{ value | regex_replace('(\\\\w+)@(\\\\w+)', '\\\\2 at \\\\1') }}", "me@host", None),
    ("regex_findall", "{{ value | regex_findall('[0-9]+') }}", "a1b22c333", None),
    ("regex_findall_index", "{{ value | regex_findall_index('([0-9]+)', 1) }}", "a1b22c333", None),
    ("regex test match", "{{ value is match('on|off') }}", "online", None),
    ("regex lookahead is refused", "{{ value | regex_match('a(?=b)') }}", "ab", None),
    # json
    ("from_json", "{{ (value | from_json).a }}", '{"a":[1,2]}', None),
    ("from_json nested string", "{{ (value_json.payload | from_json).state }}", '{"payload":"{\\"state\\":\\"ON\\"}"}', None),
    ("from_json default", "{{ value | from_json('bad') }}", "{x", None),
    ("to_json", '{{ {"state": value, "n": 1.5, "ok": true} | to_json }}', "ON", None),
    # string methods
    ("split", "{{ value.split(',')[1] }}", "21.5,45,1013", None),
    ("split whitespace", "{{ value.split() | length }}", " a  b c ", None),
    ("split maxsplit", "{{ value.split(':', 1) }}", "a:b:c", None),
    ("startswith", "{{ value.startswith('on') }}", "online", None),
    ("string replace method", "{{ value.replace('-', '') }}", "a-b-c", None),
    ("items", "{% set d = {'a': 1} %}{{ d.items() | length }}", "", None),
    ("length of list", "{{ value_json.l | length }}", '{"l":[1,2,3]}', None),
    ("first and last", "{{ value_json.l | first }}{{ value_json.l | last }}", '{"l":[1,2,3]}', None),
    # command templates with extra variables
    ("cover position command", '{"position": {{ position }} }', "", {"position": 40}),
    ("climate mode command with if", "{% if value == 'heat' %}{\"system_mode\":\"heat\"}{% else %}{\"system_mode\":\"{{ value }}\"}{% endif %}", "cool", None),
    # errors and refusals
    ("int of garbage without default", "{{ value | int }}", "abc", None),
    ("float of garbage", "{{ value | float }}", "abc", None),
    ("int of undefined", "{{ value_json.x | int }}", "{}", None),
    ("int of undefined with default", "{{ value_json.x | int(0) }}", "{}", None),
    ("is_defined of missing", "{{ value_json.x | is_defined }}", "{}", None),
    ("division by zero", "{{ 1 / 0 }}", "", None),
    ("comparing str and int", "{{ value > 1 }}", "a", None),
    ("adding str and int", "{{ value + 1 }}", "a", None),
    ("for loop", "{% for x in value_json.l %}{{ x }}{% endfor %}", '{"l":[1,2]}', None),
    ("states function", "{{ states('sensor.x') }}", "", None),
    ("unclosed if", "{% if value %}x", "x", None),
    ("endif without if", "x{% endif %}", "x", None),
    ("else after else", "{% if value %}a{% else %}b{% else %}c{% endif %}", "x", None),
    ("unknown filter", "{{ value | slugify }}", "x", None),
    ("unknown test", "{{ value is containing }}", "x", None),
    ("slice", "{{ value[0:2] }}", "abc", None),
]

# Deliberate differences: case name -> (what hatemplate gives, why).
# "refused" = Parse refuses it (the discovery code then degrades that one
# property with the reason), "error" = Render fails (no state change).
DIFFERENCES = {
    "missing chain": ("", "Jinja2 fails on an attribute of an undefined value; hatemplate gives undefined. "
                      "Either way Home Assistant and the agent change no state."),
    "for loop": ("refused", "loops are refused: no bounded use by publishers justifies them"),
    "states function": ("refused", "states() reads Home Assistant's state machine, which the agent does not have"),
    "value_json undefined for non-json": ("", "as for \"missing chain\": an attribute of undefined is undefined"),
    "slice": ("refused", "slices are refused"),
    "regex lookahead is refused": ("error", "Go's regexp (linear time) has no look-around; Python's re does"),
}


def render(env, tpl, payload, extra):
    vars_ = {"value": payload}
    try:
        vars_["value_json"] = json.loads(payload)
    except ValueError:
        pass
    if extra:
        vars_.update(extra)
    try:
        t = env.from_string(tpl)
    except jinja2.TemplateSyntaxError as e:
        return {"kind": "syntax", "error": str(e)}
    try:
        return {"kind": "output", "output": t.render(**vars_)}
    except Exception as e:  # Jinja2 and the filters raise many types
        return {"kind": "error", "error": f"{type(e).__name__}: {e}"}


def main():
    env = make_env()
    out = {
        "generator": "testdata/golden.py with Jinja2 " + jinja2.__version__,
        "now": NOW.isoformat(),
        "timezone": "UTC",
        "cases": [],
    }
    names = set()
    for name, tpl, payload, extra in CASES:
        assert name not in names, name
        names.add(name)
        case = {"name": name, "template": tpl, "payload": payload, "jinja2": render(env, tpl, payload, extra)}
        if extra:
            case["vars"] = extra
        if name in DIFFERENCES:
            got, why = DIFFERENCES[name]
            case["difference"] = {"hatemplate": got, "why": why}
        out["cases"].append(case)
    unknown = set(DIFFERENCES) - names
    assert not unknown, unknown
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(out['cases'])} cases to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
