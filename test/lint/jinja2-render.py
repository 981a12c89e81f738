# Renders Jinja2 templates as upstream Bcfg2's CfgJinja2Generator does
# (jinja2.Environment(keep_trailing_newline=True), metadata.Probes values are
# ProbeData strings with a .json property).  Reads {"templates": {path: source},
# "cases": [{hostname, groups, probes: {name: text}}]} on stdin; writes one
# {path: output-or-"ERROR: ..."} object per case as JSON on stdout.
import json
import sys

import jinja2


class ProbeData(str):
    @property
    def json(self):
        try:
            return json.loads(self)
        except ValueError:
            return None


class Metadata(object):
    pass


req = json.load(sys.stdin)
env = jinja2.Environment(keep_trailing_newline=True)
out = []
for case in req["cases"]:
    m = Metadata()
    m.hostname = case["hostname"]
    m.groups = set(case["groups"])
    m.Probes = dict((k, ProbeData(v)) for k, v in case["probes"].items())
    m.Properties = {}
    rendered = {}
    for path, src in req["templates"].items():
        try:
            rendered[path] = env.from_string(src).render(metadata=m)
        except Exception as e:  # reported, compared like any output
            rendered[path] = "ERROR: %s: %s" % (type(e).__name__, e)
    out.append(rendered)
json.dump(out, sys.stdout)
