// Package dryrun finds the least set of capabilities that loads and
// attaches every program of an object, and explains every refusal.
//
// It predicts the set from the object (program types, helpers, kfuncs,
// calls, loops, map types, attach kinds) with the rules table, then proves
// it with trial loads in child processes that each hold exactly one
// candidate set: the prediction must succeed, and dropping any one of its
// capabilities must fail. The calling process never narrows its own sets.
// Networking programs attach to scratch targets inside a private network
// namespace and a temporary cgroup; tracing programs attach to their real
// target for the moment of the trial. Everything a trial creates lives only
// in the child's descriptors, so it is gone when the child exits, however
// it exits.
package dryrun
