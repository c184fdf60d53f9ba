// Package policy reads what bpfload is asked to trust: the manifest (what
// to load, with which capabilities), and the object it names by digest.
//
// Every file is read once, with a size limit, and decoded strictly: an
// unknown or duplicate key is an error that names the file and line.
// Validation errors name the field and its line too.
package policy
