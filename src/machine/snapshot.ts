/**
 * Saving and restoring the data fields of the machine's objects, for
 * checkpoints (checkpoint.ts). A component's state is its own fields that
 * hold plain data — numbers, strings, booleans, null, typed arrays, arrays,
 * plain objects, Maps and Sets of those — copied deeply. Fields holding
 * anything else (other components, closures, event handles, caches of
 * decoded or compiled code) are wiring, rebuilt by the constructor, and are
 * left alone; so are the names in `skip`. Taking "every data field" rather
 * than a hand-kept list means a field added later is checkpointed too.
 */

export type Snapshot = Record<string, unknown>;

/** Is `v` plain data (deeply)? */
export function isPlainData(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === 'number' || t === 'string' || t === 'boolean' || t === 'bigint') return true;
  if (t !== 'object' || depth > 8) return false;
  if (ArrayBuffer.isView(v)) return true;
  if (Array.isArray(v)) return v.every((x) => isPlainData(x, depth + 1));
  if (v instanceof Map) {
    for (const [k, x] of v) if (!isPlainData(k, depth + 1) || !isPlainData(x, depth + 1)) return false;
    return true;
  }
  if (v instanceof Set) return [...v].every((x) => isPlainData(x, depth + 1));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(v as object).every((x) => isPlainData(x, depth + 1));
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/**
 * The plain-data fields of `obj` (a deep copy), except `skip`. Copied in one
 * structured clone, so an object two fields share stays shared on restore.
 */
export function saveFields(obj: object, skip: readonly string[] = []): Snapshot {
  const out: Snapshot = {};
  for (const [k, v] of Object.entries(obj)) {
    if (skip.includes(k) || typeof v === 'function' || !isPlainData(v)) continue;
    out[k] = v;
  }
  return clone(out);
}

/**
 * Put saved fields back. Typed arrays, Maps, Sets and arrays are refilled in
 * place (other objects may hold them, e.g. compiled code holds a CPU's
 * register file); everything else is assigned.
 */
export function restoreFields(obj: object, saved: Snapshot): void {
  const o = obj as Record<string, unknown>;
  const s = clone(saved); // one copy: shared objects stay shared, the snapshot stays reusable
  for (const [k, v] of Object.entries(s)) {
    const cur = o[k];
    if (typeof cur === 'function' || !isPlainData(cur)) continue; // wiring of this instance (e.g. an options object with a callback)
    // a damaged or foreign snapshot must not put a string where a number belongs (the error names the field)
    const kind = (x: unknown): string => (x === null || x === undefined ? 'empty' : ArrayBuffer.isView(x) ? x.constructor.name : x instanceof Map ? 'Map' : x instanceof Set ? 'Set' : Array.isArray(x) ? 'array' : typeof x);
    const [want, got] = [kind(cur), kind(v)];
    if (want !== got && want !== 'empty' && got !== 'empty') throw new TypeError(`field ${k}: ${got} where ${want} belongs`);
    if ((typeof cur === 'number' || typeof cur === 'boolean' || ArrayBuffer.isView(cur)) && got === 'empty') throw new TypeError(`field ${k}: missing`);
    if (ArrayBuffer.isView(cur) && (cur as Uint8Array).length !== (v as Uint8Array).length) throw new TypeError(`field ${k}: ${(v as Uint8Array).length} entries where ${(cur as Uint8Array).length} belong`);
    if (ArrayBuffer.isView(cur) && ArrayBuffer.isView(v)) {
      (cur as Uint8Array).set(v as Uint8Array);
    } else if (cur instanceof Map && v instanceof Map) {
      cur.clear();
      for (const [mk, mv] of v) cur.set(mk, mv);
    } else if (cur instanceof Set && v instanceof Set) {
      cur.clear();
      for (const x of v) cur.add(x);
    } else if (Array.isArray(cur) && Array.isArray(v)) {
      cur.length = 0;
      for (const x of v) cur.push(x);
    } else {
      o[k] = v;
    }
  }
}

/** A plain-data value put back into `target` in place (a Map, Set, array or record others hold), or a class instance's fields. */
export function restoreInPlace(target: object, saved: unknown): void {
  if (target instanceof Map || target instanceof Set || Array.isArray(target) || Object.getPrototypeOf(target) === Object.prototype) {
    const holder = { v: target };
    if (Object.getPrototypeOf(target) === Object.prototype) {
      for (const k of Object.keys(target)) delete (target as Record<string, unknown>)[k];
      Object.assign(target, clone(saved));
    } else restoreFields(holder, { v: saved });
  } else restoreFields(target, saved as Snapshot);
}

/** A plain-data value (Map, Set, array, record) or a class instance's fields, for restoreInPlace. */
export function saveValue(v: object): unknown {
  const plain = v instanceof Map || v instanceof Set || Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype;
  return plain ? clone(v) : saveFields(v);
}
