import type { TrialExport } from "./model";
import { atom, atomOrNil, bool, fact, float, integer, list, quoteAtom } from "./prologSyntax";

/**
 * `now export --format prolog`: one trial as Prolog facts plus the rules that query them,
 * in the spirit of noWorkflow's Prolog export (its rules.pl: trial-scoped facts, name and
 * id rules, `access_influence`). The file loads in SWI-Prolog without warnings; see
 * docs/EXPORT.md for the predicates.
 */
export function toProlog(x: TrialExport): string {
  const t = x.trial;
  const T = integer(t.id);
  const out: string[] = [];
  out.push(":- encoding(utf8).", "", header(x), "", DECLARATIONS, "");

  const section = (title: string, lines: string[]) => {
    out.push(`% ${title}`);
    out.push(...lines);
    out.push("");
  };

  section("trial/6 and its details", [
    fact("trial", [T, atom(t.script), atom(t.status), float(t.started_at), float(t.finished_at), integer(t.exit_code)]),
  ]);
  section("trial_uuid/2", [fact("trial_uuid", [T, atom(t.uuid)])]);
  section("trial_granularity/2", [fact("trial_granularity", [T, atom(t.granularity)])]);
  section("trial_argv/2", [fact("trial_argv", [T, list(t.argv.map(atom))])]);
  section("trial_script_hash/2", [fact("trial_script_hash", [T, hash(t.script_hash)])]);
  section("trial_parent/2", [fact("trial_parent", [T, integer(t.parent_id)])]);
  section("trial_tracer/3", [fact("trial_tracer", [T, atomOrNil(t.tracer_version), atomOrNil(t.core)])]);
  if (t.exception_type !== null) {
    section("trial_exception/3", [fact("trial_exception", [T, atom(t.exception_type), atomOrNil(t.exception_message)])]);
  }

  const d = x.deployment;
  if (d) {
    const pairs = Object.entries(d).filter(([, v]) => v !== null) as [string, string][];
    section("deployment/3", pairs.map(([k, v]) => fact("deployment", [T, atom(k), atom(String(v))])));
  }
  section("environment/4", x.environment.map((e) => fact("environment", [T, atom(e.name), atom(e.value), bool(e.redacted)])));
  section("module/6", x.modules.map((m) =>
    fact("module", [T, atom(m.name), atomOrNil(m.version), atomOrNil(m.path), hash(m.hash), bool(m.local)])));

  section("activation/9", x.activations.map((a) => fact("activation", [
    T, integer(a.id), integer(a.parent_id), atom(a.qualname), atom(a.file), integer(a.line), float(a.start), float(a.finish),
    atomOrNil(a.return_value),
  ])));
  section("activation_status/3", x.activations.map((a) => fact("activation_status", [T, integer(a.id), atom(a.status)])));
  section("activation_exception/4", x.activations.filter((a) => a.exception_type !== null).map((a) =>
    fact("activation_exception", [T, integer(a.id), atom(a.exception_type!), atomOrNil(a.exception_message)])));
  section("activation_argument/5", x.activations.flatMap((a) => a.args.map(([name, repr], i) =>
    fact("activation_argument", [T, integer(a.id), integer(i + 1), atom(name), atom(repr)]))));

  section("access/9", x.files.map((f) => fact("access", [
    T, integer(f.id), integer(f.activation_id), atom(f.path), atom(f.mode), hash(f.hash_before), hash(f.hash_after),
    float(f.opened_at), float(f.closed_at),
  ])));

  section("value/7", x.values.map((v) => fact("value", [
    T, integer(v.id), integer(v.activation_id), integer(v.line), atom(v.target), atom(v.kind), atomOrNil(v.value),
  ])));
  section("value_count/3", x.values.filter((v) => v.count !== 1).map((v) => fact("value_count", [T, integer(v.id), integer(v.count)])));
  section("dependency/4", x.dependencies.map((dep) =>
    fact("dependency", [T, integer(dep.value_id), atom(dep.source_kind), integer(dep.source_id)])));

  out.push(RULES);
  return out.join("\n");
}

/** Hashes are always quoted, so that all of them look alike whatever digit they start with. */
function hash(h: string | null): string {
  return h === null ? "nil" : quoteAtom(h);
}

function header(x: TrialExport): string {
  const t = x.trial;
  return [
    `% Trial ${t.id} (${t.script}, ${t.granularity}) exported by ${x.tool.name} ${x.tool.version}.`,
    "% Load it with: swipl -q -g \"consult('this-file.pl')\"   (tabling needs SWI-Prolog 7 or later)",
    "% Example: which files might have influenced the generation of out.svg?",
    `%   ?- access_influence(${t.id}, Influencer, 'out.svg').`,
    "%",
    "% Conventions: every fact starts with the trial id; text is an atom; a missing value is",
    "% the atom nil; trial times are Unix seconds, activation and access times are seconds",
    "% since the trial started; paths are as the store keeps them (relative to the project",
    "% root when under it); hashes are SHA-256 atoms (the content store's names).",
    "%",
    "% FACTS",
    "% trial(TrialId, Script, Status, StartedAt, FinishedAt, ExitCode)",
    "%     Status: finished | failed | interrupted | running. ExitCode nil when killed.",
    "% trial_uuid(TrialId, Uuid)",
    "% trial_granularity(TrialId, Granularity)        coarse | fine (fine: values recorded)",
    "% trial_argv(TrialId, Argv)                      the script's sys.argv, a list of atoms",
    "% trial_script_hash(TrialId, Hash)",
    "% trial_parent(TrialId, ParentTrialId)           the trial it derives from, or nil",
    "% trial_tracer(TrialId, TracerVersion, Core)",
    "% trial_exception(TrialId, Type, Message)        only for an uncaught exception",
    "% deployment(TrialId, Key, Value)                os_system, os_name, hostname, py_version, ...",
    "% environment(TrialId, Name, Value, Redacted)    Redacted: true | false",
    "% module(TrialId, Name, Version, Path, Hash, Local)",
    "% activation(TrialId, Id, ParentId, Name, File, Line, Start, Finish, ReturnValue)",
    "%     one call of a project function; Name is the qualified name, Line its definition,",
    "%     ParentId the caller (nil for the first), Finish nil while running, ReturnValue a repr.",
    "% activation_status(TrialId, Id, Status)         running | suspended | returned | raised",
    "% activation_exception(TrialId, Id, Type, Message)",
    "% activation_argument(TrialId, Id, Position, Name, Repr)",
    "% access(TrialId, Id, ActivationId, Path, Mode, HashBefore, HashAfter, OpenedAt, ClosedAt)",
    "%     a file opened by ActivationId; HashBefore nil if it did not exist.",
    "% value(TrialId, Id, ActivationId, Line, Target, Kind, Value)   fine trials only",
    "%     a value a target got; Kind: param, assign, augassign, for, with, import, def,",
    "%     return (an activation's return value), elided (stands for loop values not kept), ...",
    "% value_count(TrialId, Id, Count)                how many values an elided value stands for",
    "% dependency(TrialId, ValueId, SourceKind, SourceId)   fine trials only",
    "%     the value was computed from SourceKind = value (another value), activation (what",
    "%     that call returned) or file (the access, i.e. the file's content).",
    "%",
    "% RULES",
    "% read_mode(Mode), write_mode(Mode)              the mode may read / may change the file",
    "% file_read(TrialId, AccessId), file_written(TrialId, AccessId)",
    "% input_access(TrialId, AccessId, Path)          an access not opened for writing",
    "% changed(TrialId, AccessId)                     HashBefore differs from HashAfter",
    "% last_write(TrialId, Path, AccessId)            the last access that wrote Path",
    "% called(TrialId, Caller, Called)                direct calls",
    "% activation_stack(TrialId, Id, Callers)         callers of Id, innermost first",
    "%     (activation_stack_/4 is its helper; it stops at a caller already seen)",
    "% indirect_activation(TrialId, Caller, Called)   Caller is on Called's stack",
    "% duration(TrialId, Id, Seconds)",
    "% return_value(TrialId, ActivationId, ValueId)   the value an activation returned (fine)",
    "% flow_edge(TrialId, From, To)                   one edge of the dataflow graph, as in",
    "%     `now dataflow`; nodes are v(ValueId), a(ActivationId), f(AccessId):",
    "%     value -> value it fed; callee's return value (or the callee, if none) -> value;",
    "%     file access -> value computed while it was opened; value -> its activation;",
    "%     activation -> file access it opened for writing.",
    "% influences(TrialId, From, To)                  transitive closure of flow_edge (tabled,",
    "%     so cycles terminate)",
    "% access_influence(TrialId, InfluencerPath, InfluencedPath)",
    "%     files that might have influenced the last version of InfluencedPath, as",
    "%     `now influence`: fine trials through the dataflow graph; coarse trials",
    "%     conservatively: every file read (not opened for writing) before the written",
    "%     file was closed. Each answer once, in order (setof).",
    "% activation_node(TrialId, ActivationId, Node)    a(Id) and the v(Value) nodes of its values",
    "% activation_influence(TrialId, Influencer, Influenced)",
    "%     activations whose values may have reached Influenced: fine trials through the",
    "%     dataflow graph; coarse trials naively (noWorkflow's temporal rule): Influencer",
    "%     started before Influenced finished. Each answer once, in order.",
    "% influencer_path(TrialId, InfluencedPath, InfluencerPath),",
    "% influencer_activation(TrialId, Influenced, Influencer)",
    "%     the same relations before sorting and removing duplicates.",
  ].join("\n");
}

const FACTS = [
  "trial/6", "trial_uuid/2", "trial_granularity/2", "trial_argv/2", "trial_script_hash/2", "trial_parent/2",
  "trial_tracer/3", "trial_exception/3", "deployment/3", "environment/4", "module/6", "activation/9",
  "activation_status/3", "activation_exception/4", "activation_argument/5", "access/9", "value/7", "value_count/3",
  "dependency/4",
];

// Facts are dynamic so that a predicate with no facts (values of a coarse trial) fails
// instead of raising an existence error, and so that a user may add facts.
const DECLARATIONS = [
  ...FACTS.map((p) => `:- dynamic ${p}.`),
  ":- table influences/3.",
].join("\n");

const RULES = String.raw`% ---------------------------------------------------------------------------
% Rules (the same in every export)
% ---------------------------------------------------------------------------

read_mode(Mode) :- sub_atom(Mode, _, 1, _, C), memberchk(C, [r, '+']), !.

write_mode(Mode) :- sub_atom(Mode, _, 1, _, C), memberchk(C, [w, a, x, '+']), !.

file_read(T, Id) :- access(T, Id, _, _, Mode, _, _, _, _), read_mode(Mode).

file_written(T, Id) :- access(T, Id, _, _, Mode, _, _, _, _), write_mode(Mode).

input_access(T, Id, Path) :- access(T, Id, _, Path, Mode, _, _, _, _), \+ write_mode(Mode).

changed(T, Id) :- access(T, Id, _, _, _, Before, After, _, _), Before \== After.

last_write(T, Path, Id) :-
    file_written(T, Id),
    access(T, Id, _, Path, _, _, _, _, _),
    \+ ( file_written(T, Later), Later > Id, access(T, Later, _, Path, _, _, _, _, _) ).

called(T, Caller, Called) :- activation(T, Called, Caller, _, _, _, _, _, _), Caller \== nil.

activation_stack(T, Id, Callers) :- activation_stack_(T, Id, [Id], Callers).

activation_stack_(T, Id, Seen, Callers) :-
    activation(T, Id, Parent, _, _, _, _, _, _),
    (   Parent == nil -> Callers = []
    ;   memberchk(Parent, Seen) -> Callers = []
    ;   Callers = [Parent|Rest], activation_stack_(T, Parent, [Parent|Seen], Rest)
    ).

indirect_activation(T, Caller, Called) :- activation_stack(T, Called, Callers), member(Caller, Callers).

duration(T, Id, Seconds) :-
    activation(T, Id, _, _, _, _, Start, Finish, _), Finish \== nil, Seconds is Finish - Start.

return_value(T, A, V) :-
    value(T, V, A, _, _, return, _),
    \+ ( value(T, Later, A, _, _, return, _), Later > V ).

flow_edge(T, v(Source), v(V)) :- dependency(T, V, value, Source).
flow_edge(T, f(Access), v(V)) :- dependency(T, V, file, Access).
flow_edge(T, From, v(V)) :-
    dependency(T, V, activation, A),
    ( return_value(T, A, R) -> From = v(R) ; From = a(A) ).
flow_edge(T, v(V), a(A)) :- value(T, V, A, _, _, Kind, _), Kind \== return.
flow_edge(T, a(A), f(Access)) :- access(T, Access, A, _, Mode, _, _, _, _), A \== nil, write_mode(Mode).

influences(T, From, To) :- flow_edge(T, From, To).
influences(T, From, To) :- influences(T, From, Via), flow_edge(T, Via, To).

access_influence(T, Influencer, Influenced) :-
    trial(T, _, _, _, _, _),
    setof(Path, Access^last_write(T, Path, Access), Written),
    member(Influenced, Written),
    setof(Path, influencer_path(T, Influenced, Path), Influencers),
    member(Influencer, Influencers).

influencer_path(T, Influenced, Influencer) :-
    trial_granularity(T, fine),
    last_write(T, Influenced, Written),
    influences(T, f(Read), f(Written)),
    input_access(T, Read, Influencer).
influencer_path(T, Influenced, Influencer) :-
    trial_granularity(T, Granularity), Granularity \== fine,
    last_write(T, Influenced, Written),
    access(T, Written, _, _, _, _, _, Opened, Closed),
    ( Closed == nil -> Limit = Opened ; Limit = Closed ),
    input_access(T, Read, Influencer),
    Influencer \== Influenced,
    access(T, Read, _, _, _, _, _, ReadAt, _),
    ReadAt =< Limit.

activation_node(T, A, a(A)) :- activation(T, A, _, _, _, _, _, _, _).
activation_node(T, A, v(V)) :- value(T, V, A, _, _, _, _).

activation_influence(T, Influencer, Influenced) :-
    activation(T, Influenced, _, _, _, _, _, _, _),
    setof(A, influencer_activation(T, Influenced, A), Influencers),
    member(Influencer, Influencers).

influencer_activation(T, Influenced, Influencer) :-
    trial_granularity(T, fine),
    activation_node(T, Influencer, Node),
    influences(T, Node, a(Influenced)),
    Influencer \== Influenced.
influencer_activation(T, Influenced, Influencer) :-
    trial_granularity(T, Granularity), Granularity \== fine,
    activation(T, Influenced, _, _, _, _, _, Finish, _),
    activation(T, Influencer, _, _, _, _, Start, _, _),
    Influencer \== Influenced,
    ( Finish == nil -> true ; Start =< Finish ).
`;
