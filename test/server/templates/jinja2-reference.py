# Renders templates with Python's Jinja2 set up as Bcfg2's CfgJinja2Generator sets it up:
# RelEnvironment(loader=FileSystemLoader('/'), keep_trailing_newline=True), default Undefined.
# stdin: {"templates": [{"path": absolute path, "name": entry name}], "repo": dir, "vars": {...}}
# (each template also gets Bcfg2's name, path, source_path and repo); values tagged {"__probe__": s},
# {"__tuple__": [...]}, {"__set__": [...]}, {"__float__": x}, {"__object__": {...}} become a
# str subclass with .json, tuple, set, float and an object with attributes.
# stdout: one {"out": text} or {"error": "Type: message"} per template.
import json
import os
import sys

from jinja2 import Environment, FileSystemLoader


class RelEnvironment(Environment):
    def join_path(self, template, parent):
        return os.path.join(os.path.dirname(parent), template)


class ProbeData(str):
    @property
    def data(self):
        return str(self)

    @property
    def json(self):
        try:
            return json.loads(self)
        except ValueError:
            return None


class Obj(object):
    def __init__(self, attrs):
        self.__dict__.update(attrs)
        if "categories" in attrs:  # ClientMetadata.group_in_category
            self.group_in_category = lambda category: attrs["categories"].get(category, "")


def convert(v):
    if isinstance(v, dict):
        if "__probe__" in v:
            return ProbeData(v["__probe__"])
        if "__tuple__" in v:
            return tuple(convert(x) for x in v["__tuple__"])
        if "__set__" in v:
            return set(convert(x) for x in v["__set__"])
        if "__float__" in v:
            return float(v["__float__"])
        if "__object__" in v:
            return Obj(dict((k, convert(x)) for k, x in v["__object__"].items()))
        return dict((k, convert(x)) for k, x in v.items())
    if isinstance(v, list):
        return [convert(x) for x in v]
    return v


req = json.load(sys.stdin)
env = RelEnvironment(loader=FileSystemLoader("/"), keep_trailing_newline=True)
variables = dict((k, convert(v)) for k, v in req["vars"].items())
out = []
for t in req["templates"]:
    context = dict(variables, name=t["name"], path=t["name"], source_path=t["path"], repo=req["repo"])
    try:
        out.append({"out": env.get_template(t["path"]).render(context)})
    except Exception as e:
        out.append({"error": "%s: %s" % (type(e).__name__, e)})
json.dump(out, sys.stdout)
