// The syntax tree of a Jinja2 template (the node classes of jinja2.nodes that the parser builds).

export type Expr = { line: number } & (
  | { k: "const"; value: unknown }
  | { k: "name"; name: string }
  | { k: "tuple"; items: Expr[] }
  | { k: "list"; items: Expr[] }
  | { k: "dict"; items: Array<[Expr, Expr]> }
  | { k: "getattr"; node: Expr; attr: string }
  | { k: "getitem"; node: Expr; arg: Expr }
  | { k: "slice"; start?: Expr; stop?: Expr; step?: Expr }
  | ({ k: "call"; node: Expr } & Args)
  | ({ k: "filter"; node: Expr | null; name: string } & Args)
  | ({ k: "test"; node: Expr; name: string; negate: boolean } & Args)
  | { k: "binop"; op: string; left: Expr; right: Expr }
  | { k: "concat"; nodes: Expr[] }
  | { k: "compare"; expr: Expr; ops: Array<[string, Expr]> }
  | { k: "and" | "or"; left: Expr; right: Expr }
  | { k: "not"; node: Expr }
  | { k: "unary"; op: "-" | "+"; node: Expr }
  | { k: "cond"; test: Expr; expr1: Expr; expr2?: Expr }
);

export interface Args {
  args: Expr[];
  kwargs: Array<[string, Expr]>;
  dynArgs?: Expr;
  dynKwargs?: Expr;
}

/** Assignment targets: a name, a namespace attribute, or a tuple of names. */
export type Target =
  | { k: "name"; name: string }
  | { k: "nsref"; name: string; attr: string }
  | { k: "tuple"; items: Target[] };

export interface MacroSignature {
  params: string[];
  defaults: Expr[];
}

/** The names a loop's or `with`'s frame owns (scopes.ts), on those whose body defines a macro. */
export interface OwnedNames {
  /** Its targets (and a loop's `loop`): read raw, so a macro prints "missing" for them after it ends. */
  params: string[];
  /** Everything else the loop owns: Undefined after the loop. */
  others: string[];
  /**
   * Its frame's depth in the compiled function it is part of (the template's body, a macro's, a
   * block's): Jinja2 names a frame's locals by that depth (`l_1_x`), so sibling scopes at one depth
   * share them, and a macro made in one sees what the next one assigns.
   */
  level: number;
}

export type Stmt = { line: number } & (
  | { k: "data"; text: string }
  | { k: "output"; node: Expr }
  | { k: "for"; target: Target; iter: Expr; body: Stmt[]; else_: Stmt[]; test?: Expr; recursive: boolean; scope?: OwnedNames }
  | { k: "if"; test: Expr; body: Stmt[]; else_: Stmt[] }
  | ({ k: "macro"; name: string; body: Stmt[] } & MacroSignature)
  | ({ k: "callblock"; call: Expr & { k: "call" }; body: Stmt[] } & MacroSignature)
  | { k: "filterblock"; filter: Expr; body: Stmt[] }
  | { k: "with"; targets: Target[]; values: Expr[]; body: Stmt[]; scope?: OwnedNames }
  | { k: "block"; name: string; body: Stmt[]; scoped: boolean; required: boolean }
  | { k: "extends"; template: Expr }
  | { k: "include"; template: Expr; withContext: boolean; ignoreMissing: boolean }
  | { k: "import"; template: Expr; target: string; withContext: boolean }
  | { k: "fromimport"; template: Expr; names: Array<[string, string]>; withContext: boolean }
  | { k: "assign"; target: Target; node: Expr }
  | { k: "assignblock"; target: Target; filter?: Expr; body: Stmt[] }
  | { k: "autoescape"; value: Expr; body: Stmt[] }
);

export interface TemplateAst {
  body: Stmt[];
  /** Blocks by name (the first definition wins the name; duplicates are a syntax error). */
  blocks: Map<string, Stmt & { k: "block" }>;
  hasExtends: boolean;
}
