// Python's arithmetic operators over the value model: int/float/bool promotion, true and floor
// division, modulo with the divisor's sign, sequence concatenation and repetition, `%` formatting.
import { percentFormat } from "./format.js";
import { float, isFloat, isList, isNumber, isTuple, num, PyException, PyFloat, strValue, toTuple, tuple, typeName } from "./values.js";

function numeric(x: unknown, y: unknown, f: (a: number, b: number) => number, forceFloat = false): unknown {
  const r = f(num(x), num(y));
  return forceFloat || isFloat(x) || isFloat(y) ? float(r) : r;
}

function zeroCheck(y: unknown, what: string): void {
  if (num(y) === 0) throw new PyException("ZeroDivisionError", what);
}

function unsupported(op: string, a: unknown, b: unknown): never {
  throw new PyException("TypeError", `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

export function binaryOp(op: string, a: unknown, b: unknown): unknown {
  const sa = strValue(a);
  const sb = strValue(b);
  switch (op) {
    case "+":
      if (sa !== undefined && sb !== undefined) return sa + sb;
      if (isNumber(a) && isNumber(b)) return numeric(a, b, (x, y) => x + y);
      if (isTuple(a) && isTuple(b)) return tuple(...a, ...b);
      if (isList(a) && isList(b)) return [...a, ...b];
      if (sa !== undefined || sb !== undefined) {
        throw new PyException("TypeError", sa !== undefined ? `can only concatenate str (not "${typeName(b)}") to str` : `unsupported operand type(s) for +: '${typeName(a)}' and 'str'`);
      }
      return unsupported(op, a, b);
    case "-":
      if (isNumber(a) && isNumber(b)) return numeric(a, b, (x, y) => x - y);
      return unsupported(op, a, b);
    case "*": {
      if (isNumber(a) && isNumber(b)) return numeric(a, b, (x, y) => x * y);
      const [seq, n] = isNumber(b) && !isFloat(b) ? [a, num(b)] : isNumber(a) && !isFloat(a) ? [b, num(a)] : [undefined, 0];
      const s = strValue(seq);
      if (s !== undefined) return s.repeat(Math.max(0, n));
      if (Array.isArray(seq)) {
        const out = Array.from({ length: Math.max(0, n) }, () => seq).flat();
        return isTuple(seq) ? toTuple(out) : out;
      }
      if (typeof seq !== "undefined") throw new PyException("TypeError", `can't multiply sequence by non-int of type '${typeName(b)}'`);
      return unsupported(op, a, b);
    }
    case "/":
      if (isNumber(a) && isNumber(b)) {
        zeroCheck(b, "division by zero");
        return numeric(a, b, (x, y) => x / y, true);
      }
      return unsupported(op, a, b);
    case "//":
      if (isNumber(a) && isNumber(b)) {
        zeroCheck(b, isFloat(a) || isFloat(b) ? "float floor division by zero" : "integer division or modulo by zero");
        return numeric(a, b, (x, y) => Math.floor(x / y));
      }
      return unsupported(op, a, b);
    case "%":
      if (sa !== undefined) return percentFormat(sa, b);
      if (isNumber(a) && isNumber(b)) {
        zeroCheck(b, isFloat(a) || isFloat(b) ? "float modulo" : "integer division or modulo by zero");
        return numeric(a, b, (x, y) => {
          const r = x % y;
          return r !== 0 && r < 0 !== y < 0 ? r + y : r;
        });
      }
      return unsupported(op, a, b);
    case "**":
      if (isNumber(a) && isNumber(b)) {
        if (!isFloat(a) && !isFloat(b) && num(b) < 0) return float(num(a) ** num(b));
        if (num(a) === 0 && num(b) < 0) throw new PyException("ZeroDivisionError", "0.0 cannot be raised to a negative power");
        return numeric(a, b, (x, y) => x ** y);
      }
      return unsupported("** or pow()", a, b);
  }
  throw new PyException("SyntaxError", `unknown operator ${op}`);
}

export function unaryOp(op: "-" | "+", a: unknown): unknown {
  if (!isNumber(a)) throw new PyException("TypeError", `bad operand type for unary ${op}: '${typeName(a)}'`);
  if (a instanceof PyFloat) return float(op === "-" ? -a.v : a.v);
  const n = num(a);
  return op === "-" ? (n === 0 ? 0 : -n) : n;
}
