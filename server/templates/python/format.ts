// Python's number-to-text rules (exactly rounded, ties to even, as CPython's dtoa), `%`
// formatting and str.format's mini-language.
import {
  floatRepr, isFloat, isInt, isMapping, isNumber, isTuple, mappingGet, mappingHas, num, pyRepr, pyStr,
  PyException, strValue, typeName,
} from "./values.js";

// ---------------------------------------------------------------- exact decimal rounding

/** |x| = int * 10^exp10, exactly (a double is m * 2^e). */
function exactDecimal(x: number): { int: bigint; exp10: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (expBits === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = expBits - 1075;
  }
  if (e2 >= 0) return { int: mant << BigInt(e2), exp10: 0 };
  return { int: mant * 5n ** BigInt(-e2), exp10: e2 };
}

/** round-half-even(|x| * 10^d) as an integer. */
function scaledRound(x: number, d: number): bigint {
  const { int, exp10 } = exactDecimal(x);
  const shift = exp10 + d;
  if (shift >= 0) return int * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  const q = int / div;
  const r2 = (int % div) * 2n;
  if (r2 > div || (r2 === div && q % 2n === 1n)) return q + 1n;
  return q;
}

function sign(x: number): string {
  return x < 0 || Object.is(x, -0) ? "-" : "";
}

/** Digits of |x| with d decimals (no sign). */
function fixedDigits(x: number, d: number): string {
  const s = scaledRound(x, d).toString().padStart(d + 1, "0");
  return d > 0 ? `${s.slice(0, s.length - d)}.${s.slice(s.length - d)}` : s;
}

/** |x| rounded to p+1 significant digits: the digits and the decimal exponent. */
function significant(x: number, p: number): { digits: string; exp: number } {
  if (x === 0) return { digits: "0".repeat(p + 1), exp: 0 };
  const { int, exp10 } = exactDecimal(x);
  let exp = int.toString().length - 1 + exp10;
  let digits = scaledRound(x, p - exp).toString();
  if (digits.length > p + 1) {
    exp += 1;
    digits = digits.slice(0, p + 1);
  }
  return { digits, exp };
}

function special(x: number, upper: boolean): string | undefined {
  if (Number.isNaN(x)) return upper ? "NAN" : "nan";
  if (!Number.isFinite(x)) return `${x < 0 ? "-" : ""}${upper ? "INF" : "inf"}`;
  return undefined;
}

export function formatFixed(x: number, d: number, upper = false): string {
  return special(x, upper) ?? sign(x) + fixedDigits(x, d);
}

function formatExp(x: number, p: number, upper = false, alt = false): string {
  const sp = special(x, upper);
  if (sp) return sp;
  const { digits, exp } = significant(x, p);
  const m = p > 0 || alt ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign(x)}${m}${upper ? "E" : "e"}${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** %g: fixed when -4 <= exponent < precision, trailing zeros dropped unless `alt`. */
function formatGeneral(x: number, p: number, upper = false, alt = false, keepPoint = false): string {
  const sp = special(x, upper);
  if (sp) return sp;
  if (p === 0) p = 1;
  const { exp } = significant(x, p - 1);
  let out: string;
  if (exp >= -4 && exp < p) {
    out = formatFixed(x, p - 1 - exp);
    if (!alt && out.includes(".")) out = out.replace(/0+$/, "").replace(/\.$/, keepPoint ? ".0" : "");
  } else {
    out = formatExp(x, p - 1, upper, alt);
    if (!alt) out = out.replace(/\.?0+(?=[eE])/, "");
  }
  return out;
}

/** Python's round(x, n) for floats: the double nearest the correctly rounded decimal. */
export function roundFloat(x: number, n: number): number {
  if (!Number.isFinite(x)) return x;
  if (n >= 0) return Number(`${sign(x)}${fixedDigits(x, n)}`);
  const scale = 10 ** -n;
  const r = Number(scaledRound(x / scale, 0)) * scale;
  return x < 0 ? -r : r;
}

// ---------------------------------------------------------------- int() / float()

function intFromNumber(v: unknown): number {
  const n = num(v);
  if (!Number.isFinite(n)) throw new PyException(Number.isNaN(n) ? "ValueError" : "OverflowError", "cannot convert float to integer");
  return Math.trunc(n) || 0;
}

export function toInt(v: unknown, base = 10): number {
  const s = strValue(v);
  if (s !== undefined) {
    if (base !== 0 && (base < 2 || base > 36)) throw new PyException("ValueError", "int() base must be >= 2 and <= 36, or 0");
    let t = s.trim().replace(/(?<=\w)_(?=\w)/g, "");
    let neg = false;
    if (/^[+-]/.test(t)) {
      neg = t[0] === "-";
      t = t.slice(1);
    }
    let b = base;
    const prefix = /^0([xob])/i.exec(t);
    if (prefix && (b === 0 || b === { x: 16, o: 8, b: 2 }[prefix[1]!.toLowerCase() as "x" | "o" | "b"])) {
      b = { x: 16, o: 8, b: 2 }[prefix[1]!.toLowerCase() as "x" | "o" | "b"];
      t = t.slice(2);
    }
    if (b === 0) b = 10;
    const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz".slice(0, b);
    if (t === "" || ![...t.toLowerCase()].every((c) => alphabet.includes(c))) {
      throw new PyException("ValueError", `invalid literal for int() with base ${base}: ${pyRepr(s)}`);
    }
    const n = Number.parseInt(t, b);
    return neg ? -n : n;
  }
  if (isNumber(v)) return intFromNumber(v);
  throw new PyException("TypeError", `int() argument must be a string, a bytes-like object or a real number, not '${typeName(v)}'`);
}

export function toFloat(v: unknown): number {
  const s = strValue(v);
  if (s !== undefined) {
    const t = s.trim().replace(/(?<=\d)_(?=\d)/g, "").toLowerCase();
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
    if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(t)) return NaN;
    throw new PyException("ValueError", `could not convert string to float: ${pyRepr(s)}`);
  }
  if (isNumber(v)) return num(v);
  throw new PyException("TypeError", `float() argument must be a string or a real number, not '${typeName(v)}'`);
}

// ---------------------------------------------------------------- % formatting

const PERCENT = /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)/gs;

function pad(body: string, width: number, left: boolean, zero: boolean): string {
  if (body.length >= width) return body;
  if (left) return body.padEnd(width);
  if (zero) {
    const m = /^([-+ ]?(?:0[xXob])?)(.*)$/s.exec(body)!;
    return m[1] + m[2]!.padStart(width - m[1]!.length, "0");
  }
  return body.padStart(width);
}

function withSign(body: string, negative: boolean, flags: string): string {
  if (negative) return `-${body}`;
  if (flags.includes("+")) return `+${body}`;
  if (flags.includes(" ")) return ` ${body}`;
  return body;
}

function percentNumber(conv: string, v: unknown, flags: string, prec: number | undefined): string {
  if (conv === "d" || conv === "i" || conv === "u") {
    if (!isNumber(v)) throw new PyException("TypeError", `%${conv} format: a real number is required, not ${typeName(v)}`);
    const n = intFromNumber(v);
    return withSign(String(Math.abs(n)), n < 0, flags);
  }
  if ("oxX".includes(conv)) {
    if (!isInt(v) && typeof v !== "boolean") throw new PyException("TypeError", `%${conv} format: an integer is required, not ${typeName(v)}`);
    const n = num(v);
    let body = Math.abs(n).toString(conv === "o" ? 8 : 16);
    if (conv === "X") body = body.toUpperCase();
    if (flags.includes("#")) body = (conv === "o" ? "0o" : conv === "x" ? "0x" : "0X") + body;
    return withSign(body, n < 0, flags);
  }
  if (!isNumber(v)) throw new PyException("TypeError", `must be real number, not ${typeName(v)}`);
  const x = num(v);
  const p = prec ?? 6;
  const alt = flags.includes("#");
  const upper = conv === conv.toUpperCase();
  let body: string;
  if (conv === "f" || conv === "F") body = formatFixed(Math.abs(x), p, upper);
  else if (conv === "e" || conv === "E") body = formatExp(Math.abs(x), p, upper, alt);
  else body = formatGeneral(Math.abs(x), p, upper, alt);
  return withSign(body, x < 0 || Object.is(x, -0), flags);
}

/** `fmt % arg` for str. */
export function percentFormat(fmt: string, arg: unknown): string {
  const positional = isTuple(arg) ? [...arg] : [arg];
  let next = 0;
  let usedMapping = false;
  const take = (): unknown => {
    if (next >= positional.length) throw new PyException("TypeError", "not enough arguments for format string");
    return positional[next++];
  };
  const out = fmt.replace(PERCENT, (whole, key: string | undefined, flags: string, w: string | undefined, p: string | undefined, conv: string) => {
    if (conv === "%" && whole === "%%") return "%";
    if (conv === "") throw new PyException("ValueError", "incomplete format");
    let value: unknown;
    let width = w === "*" ? Number(num(take())) : Number(w ?? 0);
    const prec = p === "*" ? Number(num(take())) : p === undefined ? undefined : Number(p || 0);
    if (key !== undefined) {
      if (!isMapping(arg)) throw new PyException("TypeError", "format requires a mapping");
      usedMapping = true;
      if (!mappingHas(arg, key)) throw new PyException("KeyError", pyRepr(key));
      value = mappingGet(arg, key);
    } else if (conv !== "%") value = take();
    let left = flags.includes("-");
    if (width < 0) {
      left = true;
      width = -width;
    }
    let body: string;
    switch (conv) {
      case "%": body = "%"; break;
      case "s": body = pyStr(value); if (prec !== undefined) body = body.slice(0, prec); break;
      case "r": case "a": body = pyRepr(value); if (prec !== undefined) body = body.slice(0, prec); break;
      case "c": {
        const s = strValue(value);
        if (s !== undefined) {
          if ([...s].length !== 1) throw new PyException("TypeError", "%c requires int or char");
          body = s;
        } else if (isInt(value)) body = String.fromCodePoint(value);
        else throw new PyException("TypeError", "%c requires int or char");
        break;
      }
      default:
        if (!"diuoxXeEfFgG".includes(conv)) {
          throw new PyException("ValueError", `unsupported format character '${conv}' (0x${conv.charCodeAt(0).toString(16)}) at index ${fmt.indexOf(whole)}`);
        }
        body = percentNumber(conv, value, flags, prec);
        return pad(body, width, left, flags.includes("0") && Number.isFinite(num(value)));
    }
    return pad(body, width, left, false);
  });
  if (next < positional.length && !(usedMapping || (isMapping(arg) && !isTuple(arg) && positional.length === 1 && next === 0))) {
    throw new PyException("TypeError", "not all arguments converted during string formatting");
  }
  return out;
}

// ---------------------------------------------------------------- str.format / format()

const SPEC = /^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s;

function group(intPart: string, sep: string | undefined, every = 3): string {
  if (!sep) return intPart;
  let out = "";
  for (let i = intPart.length; i > 0; i -= every) out = intPart.slice(Math.max(0, i - every), i) + (out ? sep + out : "");
  return out;
}

/** format(value, spec) for str, int, float and bool; other types accept only an empty spec. */
function formatValue(v: unknown, spec: string): string {
  if (spec === "") return pyStr(v);
  const m = SPEC.exec(spec);
  if (!m) throw new PyException("ValueError", "Invalid format specifier");
  const [, fillRaw, alignRaw, signFlag, , alt, zero, w, sep, precRaw, typeRaw] = m;
  let fill = fillRaw ?? " ";
  let align = alignRaw;
  if (zero && !align) {
    fill = "0";
    align = "=";
  }
  const width = Number(w ?? 0);
  const prec = precRaw === undefined ? undefined : Number(precRaw);
  const s = strValue(v);
  let type = typeRaw ?? "";
  let body: string;
  let negative = false;
  let prefix = "";
  if (s !== undefined) {
    if (type && type !== "s") throw new PyException("ValueError", `Unknown format code '${type}' for object of type 'str'`);
    if (align === "=") throw new PyException("ValueError", "'=' alignment not allowed in string format specifier");
    body = prec === undefined ? s : [...s].slice(0, prec).join("");
    align ??= "<";
  } else if (isNumber(v)) {
    const x = num(v);
    const float = isFloat(v);
    if (!float && (type === "" || "bcdoxXn".includes(type))) {
      if (prec !== undefined) throw new PyException("ValueError", "Precision not allowed in integer format specifier");
      negative = x < 0;
      const a = Math.abs(x);
      if (type === "c") body = String.fromCodePoint(a);
      else if (type === "b" || type === "o" || type === "x" || type === "X") {
        body = a.toString(type === "b" ? 2 : type === "o" ? 8 : 16);
        if (type === "X") body = body.toUpperCase();
        if (alt) prefix = `0${type}`;
        body = group(body, sep, 4);
      } else body = group(String(a), sep);
    } else {
      if ("bcdoxX".includes(type) && type !== "") throw new PyException("ValueError", `Unknown format code '${type}' for object of type 'float'`);
      negative = x < 0 || Object.is(x, -0);
      const a = Math.abs(x);
      const upper = type === type.toUpperCase() && type !== "" && type !== "%";
      if (type === "f" || type === "F") body = formatFixed(a, prec ?? 6, upper);
      else if (type === "e" || type === "E") body = formatExp(a, prec ?? 6, upper, !!alt);
      else if (type === "g" || type === "G" || type === "n") body = formatGeneral(a, prec ?? 6, upper, !!alt);
      else if (type === "%") body = `${formatFixed(a * 100, prec ?? 6)}%`;
      else if (prec === undefined) body = floatRepr(a);
      else body = formatGeneral(a, prec, false, !!alt, true);
      if (sep) body = body.replace(/^\d+/, (d) => group(d, sep));
      type ||= "g";
    }
    align ??= ">";
  } else {
    throw new PyException("TypeError", `unsupported format string passed to ${typeName(v)}.__format__`);
  }
  const signText = negative ? "-" : signFlag === "+" ? "+" : signFlag === " " ? " " : "";
  const content = signText + prefix + body;
  if (content.length >= width) return content;
  const padding = width - content.length;
  switch (align) {
    case "<": return content + fill.repeat(padding);
    case "^": return fill.repeat(Math.floor(padding / 2)) + content + fill.repeat(Math.ceil(padding / 2));
    case "=": return signText + prefix + fill.repeat(padding) + body;
    default: return fill.repeat(padding) + content;
  }
}

/**
 * str.format(*args, **kwargs). `lookup` resolves `.attr` and `[key]` in field names
 * (the engine's attribute and item access).
 */
export function strFormat(
  fmt: string,
  args: unknown[],
  kwargs: Map<string, unknown>,
  lookup: { attr(o: unknown, name: string): unknown; item(o: unknown, key: unknown): unknown },
): string {
  let auto = 0;
  const field = (name: string): unknown => {
    const m = /^([^.[]*)(.*)$/s.exec(name)!;
    let v: unknown;
    if (m[1] === "") v = args[auto++];
    else if (/^\d+$/.test(m[1]!)) v = args[Number(m[1])];
    else {
      if (!kwargs.has(m[1]!)) throw new PyException("KeyError", pyRepr(m[1]));
      v = kwargs.get(m[1]!);
    }
    if (m[1] === "" ? auto > args.length : /^\d+$/.test(m[1]!) && Number(m[1]) >= args.length) {
      throw new PyException("IndexError", `Replacement index ${m[1] || auto - 1} out of range for positional args tuple`);
    }
    const re = /\.(\w+)|\[([^\]]+)\]/g;
    let part: RegExpExecArray | null;
    while ((part = re.exec(m[2]!))) {
      v = part[1] !== undefined ? lookup.attr(v, part[1]) : lookup.item(v, /^\d+$/.test(part[2]!) ? Number(part[2]) : part[2]);
    }
    return v;
  };
  let out = "";
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c === "{" && fmt[i + 1] === "{") { out += "{"; i += 2; continue; }
    if (c === "}" && fmt[i + 1] === "}") { out += "}"; i += 2; continue; }
    if (c === "}") throw new PyException("ValueError", "Single '}' encountered in format string");
    if (c !== "{") { out += c; i++; continue; }
    let depth = 1;
    let j = i + 1;
    while (j < fmt.length && depth > 0) {
      if (fmt[j] === "{") depth++;
      else if (fmt[j] === "}") depth--;
      j++;
    }
    if (depth > 0) throw new PyException("ValueError", "expected '}' before end of string");
    const inner = fmt.slice(i + 1, j - 1);
    const m = /^([^!:]*)(?:!([rsa]))?(?::(.*))?$/s.exec(inner);
    if (!m) throw new PyException("ValueError", "invalid format field");
    let v = field(m[1]!);
    if (m[2] === "r" || m[2] === "a") v = pyRepr(v);
    else if (m[2] === "s") v = pyStr(v);
    const spec = (m[3] ?? "").replace(/\{([^{}]*)\}/g, (_x, n: string) => pyStr(field(n)));
    out += formatValue(v, spec);
    i = j;
  }
  return out;
}
