/**
 * A small PROV document model (the part of PROV-DM nowls uses) and its two serialisations:
 * PROV-JSON (W3C Member Submission, 2013) and PROV-N (W3C Recommendation, 2013).
 * Identifiers are qualified names `prefix:local` whose local part only has characters that
 * are valid both in a PROV-N PN_LOCAL and in a URI: see `localName`.
 */

export type Literal =
  | string
  | number // an integer
  | boolean
  | { qname: string } // a prov:QUALIFIED_NAME value, e.g. prov:Plan
  | { text: string; datatype: string }; // any other typed literal, e.g. xsd:dateTime

export type Attributes = [name: string, value: Literal][];

interface Element {
  kind: "entity" | "activity" | "agent";
  id: string;
  start?: string;
  end?: string;
  attrs: Attributes;
}

export type RelationKind =
  | "wasGeneratedBy" | "used" | "wasInformedBy" | "wasAssociatedWith" | "wasDerivedFrom" | "wasInfluencedBy" | "hadMember";

interface Relation {
  kind: RelationKind;
  /** Every relation has one but hadMember, which PROV-N cannot name. */
  id?: string;
  /** Positional arguments as PROV-N orders them (`undefined` is the marker `-`). */
  args: (string | undefined)[];
  time?: string;
  attrs: Attributes;
}

/** The PROV-JSON property names of each relation's positional arguments. */
const JSON_ARGS: Record<RelationKind, string[]> = {
  wasGeneratedBy: ["prov:entity", "prov:activity"],
  used: ["prov:activity", "prov:entity"],
  wasInformedBy: ["prov:informed", "prov:informant"],
  wasAssociatedWith: ["prov:activity", "prov:agent", "prov:plan"],
  wasDerivedFrom: ["prov:generatedEntity", "prov:usedEntity"],
  wasInfluencedBy: ["prov:influencee", "prov:influencer"],
  hadMember: ["prov:collection", "prov:entity"],
};

/** Relations whose PROV-N form has a time slot after the arguments. */
const TIMED = new Set<RelationKind>(["wasGeneratedBy", "used"]);

export const PREFIXES: Record<string, string> = {
  prov: "http://www.w3.org/ns/prov#",
  xsd: "http://www.w3.org/2001/XMLSchema#",
  now: "urn:nowls:",
};

export class ProvDocument {
  readonly elements: Element[] = [];
  readonly relations: Relation[] = [];
  private readonly seen = new Set<string>();

  /** Adds an element once; a second call with the same id is ignored. */
  private element(e: Element): void {
    if (this.seen.has(e.id)) return;
    this.seen.add(e.id);
    this.elements.push(e);
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  entity(id: string, attrs: Attributes): void {
    this.element({ kind: "entity", id, attrs });
  }

  activity(id: string, start: string | undefined, end: string | undefined, attrs: Attributes): void {
    this.element({ kind: "activity", id, start, end, attrs });
  }

  agent(id: string, attrs: Attributes): void {
    this.element({ kind: "agent", id, attrs });
  }

  generation(id: string, entity: string, activity: string, time: string | undefined, attrs: Attributes = []): void {
    this.relations.push({ kind: "wasGeneratedBy", id, args: [entity, activity], time, attrs });
  }

  usage(id: string, activity: string, entity: string, time: string | undefined, attrs: Attributes = []): void {
    this.relations.push({ kind: "used", id, args: [activity, entity], time, attrs });
  }

  communication(id: string, informed: string, informant: string, attrs: Attributes = []): void {
    this.relations.push({ kind: "wasInformedBy", id, args: [informed, informant], attrs });
  }

  association(id: string, activity: string, agent: string, plan: string | undefined, attrs: Attributes = []): void {
    this.relations.push({ kind: "wasAssociatedWith", id, args: [activity, agent, plan], attrs });
  }

  derivation(id: string, generated: string, used: string, attrs: Attributes = []): void {
    this.relations.push({ kind: "wasDerivedFrom", id, args: [generated, used], attrs });
  }

  influence(id: string, influencee: string, influencer: string, attrs: Attributes = []): void {
    this.relations.push({ kind: "wasInfluencedBy", id, args: [influencee, influencer], attrs });
  }

  membership(collection: string, entity: string): void {
    this.relations.push({ kind: "hadMember", args: [collection, entity], attrs: [] });
  }
}

// ---------------------------------------------------------------------------
// Identifiers and times
// ---------------------------------------------------------------------------

/**
 * Text made safe as (part of) a qualified name's local part: letters, digits and
 * `_ - . / @ ~` stay; every other character becomes `%XX` (its UTF-8 bytes), which PROV-N
 * keeps as is (PERCENT) and a URI reads as percent-encoding. A `.` that would end the
 * name is encoded too (PN_LOCAL cannot end with a dot).
 */
export function localName(text: string): string {
  let out = "";
  for (const ch of text) {
    if (/^[A-Za-z0-9_\-./@~]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out.replace(/\.$/, "%2E");
}

/**
 * Unix seconds as an xsd:dateTime in UTC with microseconds, e.g.
 * 2026-11-26T03:53:06.123456Z (the store keeps times to the microsecond).
 */
export function dateTime(unixSeconds: number): string {
  const micros = Math.round(unixSeconds * 1e6);
  const seconds = Math.floor(micros / 1e6);
  const fraction = String(micros - seconds * 1e6).padStart(6, "0");
  return new Date(seconds * 1000).toISOString().slice(0, 19) + `.${fraction}Z`;
}

// ---------------------------------------------------------------------------
// PROV-JSON
// ---------------------------------------------------------------------------

function jsonLiteral(v: Literal): unknown {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if ("qname" in v) return { $: v.qname, type: "prov:QUALIFIED_NAME" };
  return { $: v.text, type: v.datatype };
}

/** Attributes as a PROV-JSON object; an attribute given twice becomes an array. */
function jsonAttributes(attrs: Attributes, into: Record<string, unknown>): Record<string, unknown> {
  for (const [name, value] of attrs) {
    const lit = jsonLiteral(value);
    if (!(name in into)) into[name] = lit;
    else into[name] = Array.isArray(into[name]) ? [...(into[name] as unknown[]), lit] : [into[name], lit];
  }
  return into;
}

export function toProvJson(doc: ProvDocument): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = { prefix: { ...PREFIXES } };
  const section = (name: string) => (out[name] ??= {});
  for (const e of doc.elements) {
    const record: Record<string, unknown> = {};
    if (e.start) record["prov:startTime"] = e.start;
    if (e.end) record["prov:endTime"] = e.end;
    section(e.kind)[e.id] = jsonAttributes(e.attrs, record);
  }
  let blank = 0;
  for (const r of doc.relations) {
    const record: Record<string, unknown> = {};
    JSON_ARGS[r.kind].forEach((name, i) => {
      if (r.args[i] !== undefined) record[name] = r.args[i];
    });
    if (r.time) record["prov:time"] = r.time;
    // A relation without an identifier gets a blank-node key, as PROV-JSON prescribes.
    section(r.kind)[r.id ?? `_:${r.kind}${++blank}`] = jsonAttributes(r.attrs, record);
  }
  return out;
}

// ---------------------------------------------------------------------------
// PROV-N
// ---------------------------------------------------------------------------

/** A PROV-N string literal: `"…"` with the escapes of ECHAR (\t \b \n \r \f \" \' \\). */
export function provnString(text: string): string {
  const escapes: Record<string, string> = { "\t": "\\t", "\b": "\\b", "\n": "\\n", "\r": "\\r", "\f": "\\f", '"': '\\"', "\\": "\\\\" };
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    out += escapes[ch] ?? (c >= 0xd800 && c <= 0xdfff ? "\uFFFD" : ch);
  }
  return out + '"';
}

function provnLiteral(v: Literal): string {
  if (typeof v === "string") return provnString(v);
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : `${provnString(String(v))} %% xsd:double`;
  if (typeof v === "boolean") return `${provnString(String(v))} %% xsd:boolean`;
  if ("qname" in v) return `'${v.qname}'`;
  return `${provnString(v.text)} %% ${v.datatype}`;
}

function provnAttributes(attrs: Attributes): string {
  return attrs.length === 0 ? "" : `, [${attrs.map(([n, v]) => `${n}=${provnLiteral(v)}`).join(", ")}]`;
}

export function toProvN(doc: ProvDocument): string {
  const lines = ["document"];
  for (const [p, iri] of Object.entries(PREFIXES)) lines.push(`  prefix ${p} <${iri}>`);
  lines.push("");
  for (const e of doc.elements) {
    const times = e.kind === "activity" ? `, ${e.start ?? "-"}, ${e.end ?? "-"}` : "";
    lines.push(`  ${e.kind}(${e.id}${times}${provnAttributes(e.attrs)})`);
  }
  lines.push("");
  for (const r of doc.relations) {
    const args = r.args.map((a) => a ?? "-");
    if (TIMED.has(r.kind)) args.push(r.time ?? "-");
    const id = r.id ? `${r.id}; ` : "";
    lines.push(`  ${r.kind}(${id}${args.join(", ")}${provnAttributes(r.attrs)})`);
  }
  lines.push("endDocument", "");
  return lines.join("\n");
}
