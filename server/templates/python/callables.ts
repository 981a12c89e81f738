// How template code calls functions: Python callables (builtins, methods, filters, macros)
// take (args, kwargs); plain JavaScript functions from the data model get the positional
// arguments, with keyword arguments as a trailing { __kw: true, ... } object.
import { PyException, PY_REPR, typeName } from "./values.js";

const PY_CALL = Symbol.for("vacfg.python.call");

export type Kwargs = Map<string, unknown>;
type PyFunctionBody = (args: unknown[], kwargs: Kwargs) => unknown;
export interface PyFunction {
  (args: unknown[], kwargs: Kwargs): unknown;
  [PY_CALL]: true;
  [PY_REPR]: () => string;
  pyName: string;
}

/** A callable; `repr` only when Python's repr has no memory address in it (else printing it is refused). */
export function pyFunction(name: string, body: PyFunctionBody, repr?: string): PyFunction {
  const f = ((args: unknown[], kwargs: Kwargs) => body(args, kwargs)) as PyFunction;
  f[PY_CALL] = true;
  f[PY_REPR] = () => {
    if (repr === undefined) throw new PyException("NotImplementedError", `printing the function ${name} (Python shows its memory address) is not supported`);
    return repr;
  };
  f.pyName = name;
  return f;
}

export function isPyFunction(v: unknown): v is PyFunction {
  return typeof v === "function" && (v as Partial<PyFunction>)[PY_CALL] === true;
}

export function callValue(f: unknown, args: unknown[], kwargs: Kwargs = new Map()): unknown {
  if (isPyFunction(f)) return f(args, kwargs);
  if (typeof f === "function") {
    const a = kwargs.size ? [...args, { __kw: true, ...Object.fromEntries(kwargs) }] : args;
    return (f as (...x: unknown[]) => unknown)(...a);
  }
  throw new PyException("TypeError", `'${typeName(f)}' object is not callable`);
}

/**
 * Binds Python-style parameters: names with defaults (undefined = required), the rest
 * refused with Python's messages. Returns the values in parameter order.
 */
export function bindArgs(fname: string, params: Array<[string, unknown?]>, args: unknown[], kwargs: Kwargs): unknown[] {
  if (args.length > params.length) {
    throw new PyException("TypeError", `${fname}() takes at most ${params.length} arguments (${args.length} given)`);
  }
  const out: unknown[] = new Array(params.length);
  for (let i = 0; i < params.length; i++) out[i] = i < args.length ? args[i] : params[i]![1];
  // Which parameters keyword arguments gave (most filter calls have none: nothing allocated for them).
  const byKeyword = kwargs.size ? new Array<boolean>(params.length).fill(false) : undefined;
  for (const [k, v] of kwargs) {
    const i = params.findIndex(([n]) => n === k);
    if (i < 0) throw new PyException("TypeError", `${fname}() got an unexpected keyword argument '${k}'`);
    if (i < args.length || byKeyword![i]) throw new PyException("TypeError", `${fname}() got multiple values for argument '${k}'`);
    out[i] = v;
    byKeyword![i] = true;
  }
  for (let i = args.length; i < params.length; i++) {
    if (!byKeyword?.[i] && params[i]![1] === REQUIRED) throw new PyException("TypeError", `${fname}() missing required argument: '${params[i]![0]}'`);
  }
  for (let i = 0; i < out.length; i++) if (out[i] === REQUIRED) out[i] = undefined;
  return out;
}

/** Marks a parameter without default in bindArgs. */
export const REQUIRED = Symbol("required");
