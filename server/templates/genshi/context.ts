// Genshi's template context: a stack of frames. Lookups search from the innermost frame out;
// assignments (in {% python %}, <?python ?>, py:with) land in the innermost frame, so a value
// set inside a py:for iteration is gone when the iteration ends, exactly as in Genshi.
export class Frame extends Map<string, unknown> {
  constructor(private readonly parent?: Map<string, unknown>) {
    super();
  }
  override get(key: string): unknown {
    return super.has(key) ? super.get(key) : this.parent?.get(key);
  }
  override has(key: string): boolean {
    return super.has(key) || (this.parent?.has(key) ?? false);
  }
  /** Every visible name (inner frames hide outer ones): what `new Map(frame)` copies. */
  override *entries(): MapIterator<[string, unknown]> {
    const seen = new Set<string>();
    for (const [k, v] of super.entries()) {
      seen.add(k);
      yield [k, v];
    }
    if (this.parent) for (const [k, v] of this.parent.entries()) if (!seen.has(k)) yield [k, v];
  }
  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }
}
