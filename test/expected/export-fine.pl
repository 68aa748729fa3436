:- encoding(utf8).

% Trial 1 (main.py, fine) exported by nowls 0.1.0.
% Load it with: swipl -q -g "consult('this-file.pl')"   (tabling needs SWI-Prolog 7 or later)
% Example: which files might have influenced the generation of out.svg?
%   ?- access_influence(1, Influencer, 'out.svg').
%
% Conventions: every fact starts with the trial id; text is an atom; a missing value is
% the atom nil; trial times are Unix seconds, activation and access times are seconds
% since the trial started; paths are as the store keeps them (relative to the project
% root when under it); hashes are SHA-256 atoms (the content store's names).
%
% FACTS
% trial(TrialId, Script, Status, StartedAt, FinishedAt, ExitCode)
%     Status: finished | failed | interrupted | running. ExitCode nil when killed.
% trial_uuid(TrialId, Uuid)
% trial_granularity(TrialId, Granularity)        coarse | fine (fine: values recorded)
% trial_argv(TrialId, Argv)                      the script's sys.argv, a list of atoms
% trial_script_hash(TrialId, Hash)
% trial_parent(TrialId, ParentTrialId)           the trial it derives from, or nil
% trial_tracer(TrialId, TracerVersion, Core)
% trial_exception(TrialId, Type, Message)        only for an uncaught exception
% deployment(TrialId, Key, Value)                os_system, os_name, hostname, py_version, ...
% environment(TrialId, Name, Value, Redacted)    Redacted: true | false
% module(TrialId, Name, Version, Path, Hash, Local)
% activation(TrialId, Id, ParentId, Name, File, Line, Start, Finish, ReturnValue)
%     one call of a project function; Name is the qualified name, Line its definition,
%     ParentId the caller (nil for the first), Finish nil while running, ReturnValue a repr.
% activation_status(TrialId, Id, Status)         running | suspended | returned | raised
% activation_exception(TrialId, Id, Type, Message)
% activation_argument(TrialId, Id, Position, Name, Repr)
% access(TrialId, Id, ActivationId, Path, Mode, HashBefore, HashAfter, OpenedAt, ClosedAt)
%     a file opened by ActivationId; HashBefore nil if it did not exist.
% value(TrialId, Id, ActivationId, Line, Target, Kind, Value)   fine trials only
%     a value a target got; Kind: param, assign, augassign, for, with, import, def,
%     return (an activation's return value), elided (stands for loop values not kept), ...
% value_count(TrialId, Id, Count)                how many values an elided value stands for
% dependency(TrialId, ValueId, SourceKind, SourceId)   fine trials only
%     the value was computed from SourceKind = value (another value), activation (what
%     that call returned) or file (the access, i.e. the file's content).
%
% RULES
% read_mode(Mode), write_mode(Mode)              the mode may read / may change the file
% file_read(TrialId, AccessId), file_written(TrialId, AccessId)
% input_access(TrialId, AccessId, Path)          an access not opened for writing
% changed(TrialId, AccessId)                     HashBefore differs from HashAfter
% last_write(TrialId, Path, AccessId)            the last access that wrote Path
% called(TrialId, Caller, Called)                direct calls
% activation_stack(TrialId, Id, Callers)         callers of Id, innermost first
%     (activation_stack_/4 is its helper; it stops at a caller already seen)
% indirect_activation(TrialId, Caller, Called)   Caller is on Called's stack
% duration(TrialId, Id, Seconds)
% return_value(TrialId, ActivationId, ValueId)   the value an activation returned (fine)
% flow_edge(TrialId, From, To)                   one edge of the dataflow graph, as in
%     `now dataflow`; nodes are v(ValueId), a(ActivationId), f(AccessId):
%     value -> value it fed; callee's return value (or the callee, if none) -> value;
%     file access -> value computed while it was opened; value -> its activation;
%     activation -> file access it opened for writing.
% influences(TrialId, From, To)                  transitive closure of flow_edge (tabled,
%     so cycles terminate)
% access_influence(TrialId, InfluencerPath, InfluencedPath)
%     files that might have influenced the last version of InfluencedPath, as
%     `now influence`: fine trials through the dataflow graph; coarse trials
%     conservatively: every file read (not opened for writing) before the written
%     file was closed. Each answer once, in order (setof).
% activation_node(TrialId, ActivationId, Node)    a(Id) and the v(Value) nodes of its values
% activation_influence(TrialId, Influencer, Influenced)
%     activations whose values may have reached Influenced: fine trials through the
%     dataflow graph; coarse trials naively (noWorkflow's temporal rule): Influencer
%     started before Influenced finished. Each answer once, in order.
% influencer_path(TrialId, InfluencedPath, InfluencerPath),
% influencer_activation(TrialId, Influenced, Influencer)
%     the same relations before sorting and removing duplicates.

:- dynamic trial/6.
:- dynamic trial_uuid/2.
:- dynamic trial_granularity/2.
:- dynamic trial_argv/2.
:- dynamic trial_script_hash/2.
:- dynamic trial_parent/2.
:- dynamic trial_tracer/3.
:- dynamic trial_exception/3.
:- dynamic deployment/3.
:- dynamic environment/4.
:- dynamic module/6.
:- dynamic activation/9.
:- dynamic activation_status/3.
:- dynamic activation_exception/4.
:- dynamic activation_argument/5.
:- dynamic access/9.
:- dynamic value/7.
:- dynamic value_count/3.
:- dynamic dependency/4.
:- table influences/3.

% trial/6 and its details
trial(1, 'main.py', finished, 1795669200.5, 1795669200.511, 0).

% trial_uuid/2
trial_uuid(1, '00000000-0000-4000-8000-00000000f1e0').

% trial_granularity/2
trial_granularity(1, fine).

% trial_argv/2
trial_argv(1, ['main.py']).

% trial_script_hash/2
trial_script_hash(1, 'b10564ab7d2c520cdd0243874879fb0a782862c3c902ab535faabe57d5a505e1').

% trial_parent/2
trial_parent(1, nil).

% trial_tracer/3
trial_tracer(1, '0.1.0', settrace).

% deployment/3
deployment(1, os_system, 'Linux').
deployment(1, os_release, '6.1.0').
deployment(1, os_version, '#1 SMP').
deployment(1, os_name, 'Debian GNU/Linux 12 (bookworm)').
deployment(1, hostname, lab1).
deployment(1, machine, x86_64).
deployment(1, py_implementation, 'CPython').
deployment(1, py_version, '3.11.7').
deployment(1, py_executable, '/usr/bin/python3').
deployment(1, py_prefix, '/usr').

% environment/4
environment(1, 'API_TOKEN', '<redacted>', true).
environment(1, 'HOME', '/root', false).
environment(1, 'LANG', 'C.UTF-8', false).

% module/6
module(1, '__main__', nil, 'main.py', 'b10564ab7d2c520cdd0243874879fb0a782862c3c902ab535faabe57d5a505e1', true).
module(1, lib, nil, 'lib.py', '8156dd4db3ab1865f78923f672aa2f1bbf5c7382bd3304f087af050276e78706', true).
module(1, sys, nil, nil, nil, false).

% activation/9
activation(1, 1, nil, '<module>', 'main.py', 1, 0.001, 0.01, 'None').
activation(1, 2, 1, read, 'lib.py', 1, 0.002, 0.0024000000000000002, '[\'1.5\', \'2.5\']').
activation(1, 3, 1, read, 'lib.py', 1, 0.003, 0.0034000000000000002, '[\'3.0\', \'4.0\', \'5.0\', \'6.0\']').
activation(1, 4, 1, read, 'lib.py', 1, 0.004, 0.0044, '[\'unused\']').
activation(1, 5, 1, total, 'lib.py', 6, 0.005, 0.0052, '4.0').
activation(1, 6, 1, total, 'lib.py', 6, 0.006, 0.0062, '18.0').
activation(1, 7, 1, save, 'lib.py', 12, 0.007, 0.0074, 'None').

% activation_status/3
activation_status(1, 1, returned).
activation_status(1, 2, returned).
activation_status(1, 3, returned).
activation_status(1, 4, returned).
activation_status(1, 5, returned).
activation_status(1, 6, returned).
activation_status(1, 7, returned).

% activation_exception/4

% activation_argument/5
activation_argument(1, 2, 1, path, '\'data/a.txt\'').
activation_argument(1, 3, 1, path, '\'data/b.txt\'').
activation_argument(1, 4, 1, path, '\'data/c.txt\'').
activation_argument(1, 5, 1, xs, '[\'1.5\', \'2.5\']').
activation_argument(1, 6, 1, xs, '[\'3.0\', \'4.0\', \'5.0\', \'6.0\']').
activation_argument(1, 7, 1, path, '\'out.txt\'').
activation_argument(1, 7, 2, value, '22.0').

% access/9
access(1, 1, 2, 'data/a.txt', r, '18b7cb099a9ea3f50ba899b5ba81e0d377a5f3b16f8f6eeb8b3e58cd4692b993', '18b7cb099a9ea3f50ba899b5ba81e0d377a5f3b16f8f6eeb8b3e58cd4692b993', 0.0021, 0.0023).
access(1, 2, 3, 'data/b.txt', r, 'ffa0da5d885fba09d903c782713b6b098c8cf21f56a3a35d9aa920613220d2e1', 'ffa0da5d885fba09d903c782713b6b098c8cf21f56a3a35d9aa920613220d2e1', 0.0031, 0.0033).
access(1, 3, 4, 'data/c.txt', r, '4fe006196474bf40b078b5e230ccf558f791129837884cbc74daf74ef1164420', '4fe006196474bf40b078b5e230ccf558f791129837884cbc74daf74ef1164420', 0.0041, 0.0043).
access(1, 4, 7, 'out.txt', w, nil, 'c07be25a843b0d0a2fea5a887e22c8bc381592ea5cddb120d4c979c6dc1d0f41', 0.0071, 0.0073).
access(1, 5, 1, 'notes/café #1 (draft).txt', r, 'e39538e7f27a7bf579cd9b85a103c0f0b86b60b788534295538d0301a9c5dce6', 'e39538e7f27a7bf579cd9b85a103c0f0b86b60b788534295538d0301a9c5dce6', 0.008, 0.0081).
access(1, 6, 1, '/tmp/x y.log', a, '43363d50dfb95445ef23568c3d5360e7e56540f6e42cba82ef6a3c8c96e5abee', '69327b022c925b2c54c830331bb7aa6a9f1b2fa2bc1630cc92ac31c65c4ea71c', 0.009, 0.0091).

% value/7
value(1, 1, 1, 1, read, import, '<function read at 0x7f3a2c1e0040>').
value(1, 2, 1, 1, total, import, '<function total at 0x7f3a2c1e00e0>').
value(1, 3, 1, 1, save, import, '<function save at 0x7f3a2c1e0180>').
value(1, 4, 2, 1, path, param, '\'data/a.txt\'').
value(1, 5, 2, 2, f, with, '<_io.TextIOWrapper name=\'data/a.txt\' mode=\'r\' encoding=\'UTF-8\'>').
value(1, 6, 2, 3, text, assign, '\'1.5\\n2.5\\n\'').
value(1, 7, 2, 4, return, return, '[\'1.5\', \'2.5\']').
value(1, 8, 1, 2, a, assign, '[\'1.5\', \'2.5\']').
value(1, 9, 3, 1, path, param, '\'data/b.txt\'').
value(1, 10, 3, 2, f, with, '<_io.TextIOWrapper name=\'data/b.txt\' mode=\'r\' encoding=\'UTF-8\'>').
value(1, 11, 3, 3, text, assign, '\'3.0\\n4.0\\n5.0\\n6.0\\n\'').
value(1, 12, 3, 4, return, return, '[\'3.0\', \'4.0\', \'5.0\', \'6.0\']').
value(1, 13, 1, 3, b, assign, '[\'3.0\', \'4.0\', \'5.0\', \'6.0\']').
value(1, 14, 4, 1, path, param, '\'data/c.txt\'').
value(1, 15, 4, 2, f, with, '<_io.TextIOWrapper name=\'data/c.txt\' mode=\'r\' encoding=\'UTF-8\'>').
value(1, 16, 4, 3, text, assign, '\'unused\\n\'').
value(1, 17, 4, 4, return, return, '[\'unused\']').
value(1, 18, 1, 4, c, assign, '[\'unused\']').
value(1, 19, 5, 6, xs, param, '[\'1.5\', \'2.5\']').
value(1, 20, 5, 7, s, assign, '0').
value(1, 21, 5, 8, x, for, '\'1.5\'').
value(1, 22, 5, 9, s, augassign, '1.5').
value(1, 23, 5, 8, x, for, '\'2.5\'').
value(1, 24, 5, 9, s, augassign, '4.0').
value(1, 25, 5, 10, return, return, '4.0').
value(1, 26, 6, 6, xs, param, '[\'3.0\', \'4.0\', \'5.0\', \'6.0\']').
value(1, 27, 6, 7, s, assign, '0').
value(1, 28, 6, 8, x, for, '\'3.0\'').
value(1, 29, 6, 9, s, augassign, '3.0').
value(1, 34, 6, 8, x, for, '\'6.0\'').
value(1, 35, 6, 9, s, augassign, '18.0').
value(1, 36, 6, 10, return, return, '18.0').
value(1, 37, 6, 8, x, elided, nil).
value(1, 38, 6, 9, s, elided, nil).
value(1, 39, 1, 5, t, assign, '22.0').
value(1, 40, 7, 12, path, param, '\'out.txt\'').
value(1, 41, 7, 12, value, param, '22.0').
value(1, 42, 7, 13, f, with, '<_io.TextIOWrapper name=\'out.txt\' mode=\'w\' encoding=\'UTF-8\'>').
value(1, 43, 1, 7, msg, assign, '"it\'s \\"quoted\\" C:\\\\path"\nsecond line\ttab é→🙂 \x1\ end').

% value_count/3
value_count(1, 37, 2).
value_count(1, 38, 2).

% dependency/4
dependency(1, 4, value, 1).
dependency(1, 5, file, 1).
dependency(1, 5, value, 4).
dependency(1, 6, value, 5).
dependency(1, 7, value, 6).
dependency(1, 8, activation, 2).
dependency(1, 8, value, 1).
dependency(1, 9, value, 1).
dependency(1, 10, file, 2).
dependency(1, 10, value, 9).
dependency(1, 11, value, 10).
dependency(1, 12, value, 11).
dependency(1, 13, activation, 3).
dependency(1, 13, value, 1).
dependency(1, 14, value, 1).
dependency(1, 15, file, 3).
dependency(1, 15, value, 14).
dependency(1, 16, value, 15).
dependency(1, 17, value, 16).
dependency(1, 18, activation, 4).
dependency(1, 18, value, 1).
dependency(1, 19, value, 2).
dependency(1, 19, value, 8).
dependency(1, 19, value, 13).
dependency(1, 21, value, 19).
dependency(1, 22, value, 20).
dependency(1, 22, value, 21).
dependency(1, 23, value, 19).
dependency(1, 24, value, 22).
dependency(1, 24, value, 23).
dependency(1, 25, value, 24).
dependency(1, 26, value, 2).
dependency(1, 26, value, 8).
dependency(1, 26, value, 13).
dependency(1, 28, value, 26).
dependency(1, 29, value, 27).
dependency(1, 29, value, 28).
dependency(1, 34, value, 26).
dependency(1, 35, value, 34).
dependency(1, 35, value, 38).
dependency(1, 36, value, 35).
dependency(1, 39, activation, 5).
dependency(1, 39, activation, 6).
dependency(1, 39, value, 2).
dependency(1, 39, value, 8).
dependency(1, 39, value, 13).
dependency(1, 40, value, 3).
dependency(1, 40, value, 39).
dependency(1, 41, value, 3).
dependency(1, 41, value, 39).
dependency(1, 42, file, 4).
dependency(1, 42, value, 40).
dependency(1, 43, value, 18).

% ---------------------------------------------------------------------------
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
