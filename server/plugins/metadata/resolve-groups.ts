// Group resolution as upstream Metadata does it: profile and clients.xml groups, then repeated
// passes over groups.xml membership predicates and negations, with category suppression.
import type { GroupsModel, Predicate } from "./groups-file.js";

export interface GroupState {
  groups: Set<string>;
  categories: Map<string, string>;
  profile?: string;
}

/**
 * Adds one group the way upstream's _add_group / _check_and_add_category do: a declared group
 * whose category the client already has is suppressed; the first profile group becomes the profile.
 */
export function addGroup(model: GroupsModel, st: GroupState, name: string, takeProfile = true): void {
  const decl = model.groups.get(name);
  if (decl) {
    if (decl.category) {
      if (st.categories.has(decl.category)) return;
      st.categories.set(decl.category, name);
    }
    st.groups.add(name);
    if (takeProfile && !st.profile && decl.isProfile) st.profile = name;
  } else {
    st.groups.add(name);
  }
}

/**
 * Upstream's _merge_groups: fixpoint over membership predicates, then negations, until the number
 * of groups is stable. Returns whether its last pass changed nothing (a pass can add and remove as
 * many groups): then another call on the same state changes nothing either.
 */
export function mergeGroups(model: GroupsModel, client: string, st: GroupState): boolean {
  let count = -1;
  let changed = true;
  while (count !== st.groups.size) {
    count = st.groups.size;
    // Made only when a pass changes something (the last pass never does): this runs twice per build.
    let added: string[] | undefined;
    // Index loops and forEach: this runs on every build, early in a process too, where for-of
    // allocates an iterator result (and a Map entry pair) per step.
    const ordered = model.ordered;
    for (let i = 0; i < ordered.length; i++) {
      const g = ordered[i]!;
      if (st.groups.has(g)) continue;
      if (anyHolds(model.membership.get(g)!, client, st)) {
        (added ??= []).push(g);
        const cat = model.groups.get(g)?.category;
        if (cat) st.categories.set(cat, g);
      }
    }
    if (added) for (const g of added) st.groups.add(g);
    let removed: string[] | undefined;
    if (model.negated.size > 0) {
      model.negated.forEach((preds, g) => {
        if (!st.groups.has(g)) return;
        if (anyHolds(preds, client, st)) {
          (removed ??= []).push(g);
          const cat = model.groups.get(g)?.category;
          if (cat) st.categories.delete(cat);
        }
      });
    }
    if (removed) for (const g of removed) st.groups.delete(g);
    changed = added !== undefined || removed !== undefined;
  }
  return !changed;
}

function anyHolds(preds: Predicate[], client: string, st: GroupState): boolean {
  for (let i = 0; i < preds.length; i++) if (preds[i]!(client, st.groups, st.categories)) return true;
  return false;
}

/** Bundles of every declared group the client is in. */
export function bundlesOf(model: GroupsModel, groups: Set<string>): Set<string> {
  const out = new Set<string>();
  groups.forEach((g) => {
    const bundles = model.groups.get(g)?.bundles;
    if (bundles) for (let i = 0; i < bundles.length; i++) out.add(bundles[i]!);
  });
  return out;
}

/** The first profile group among `groups` (upstream's last-ditch profile choice). */
export function firstProfile(model: GroupsModel, groups: Iterable<string>): string | undefined {
  for (const g of groups) if (model.groups.get(g)?.isProfile) return g;
  return undefined;
}
