// Cheetah's NameMapper for the .cheetah subset: how $a.b.c finds a value (locals, then the
// template's variables, then builtins; mappings before attributes) and autocalls what it finds.
import { callValue } from "../python/callables.js";
import { getAttr, pyBuiltin, type Scope } from "../python/expr.js";
import { PY_TYPE } from "../python/host-objects.js";
import { PyException } from "../python/values.js";

/** Where the template's variables sit in the scope: not a Python name, so template code cannot reach it. */
export const SL_KEY = "\0searchList";

export class NotFound extends PyException {
  constructor(message: string) {
    super("NotFound", message);
  }
}

function isMapping(v: unknown): boolean {
  if (v instanceof Map) return true;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  // A host object that says it is a dict (the template data's probe map) is a mapping too.
  const type = (v as { [PY_TYPE]?: () => string })[PY_TYPE];
  if (typeof type === "function" && type.call(v) === "dict") return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Autocalling: a callable found by a dotted name is called with no arguments. */
function autoCall(v: unknown, enabled: boolean): unknown {
  return enabled && typeof v === "function" ? callValue(v, []) : v;
}

function step(obj: unknown, key: string, fullName: string): unknown {
  if (isMapping(obj)) {
    if (obj instanceof Map) {
      if (obj.has(key)) return obj.get(key);
    } else if (Object.prototype.hasOwnProperty.call(obj, key)) return (obj as Record<string, unknown>)[key];
  }
  try {
    return getAttr(obj, key);
  } catch (e) {
    if (!(e instanceof PyException)) throw e;
    throw new NotFound(key === fullName ? `cannot find '${key}'` : `cannot find '${key}' while searching for '${fullName}'`);
  }
}

/** NameMapper.valueForName. */
export function valueForName(obj: unknown, dotted: string, ac: boolean, fullName: string): unknown {
  for (const key of dotted.split(".")) obj = autoCall(step(obj, key, fullName), ac);
  return obj;
}

/** NameMapper.valueFromSearchList over [locals()] + searchList + [builtins]. */
export function valueFromSearchList(scope: Scope, dotted: string, ac: boolean): unknown {
  const [first, ...rest] = dotted.split(".");
  const key = first!;
  let obj: unknown;
  const sl = scope.get(SL_KEY) as Record<string, unknown>;
  if (scope.has(key)) obj = scope.get(key);
  else if (Object.prototype.hasOwnProperty.call(sl, key)) obj = sl[key];
  else {
    const b = pyBuiltin(key);
    if (!b) throw new NotFound(`cannot find '${key}'`);
    obj = b.value;
  }
  obj = autoCall(obj, ac);
  return rest.length ? valueForName(obj, rest.join("."), ac, dotted) : obj;
}