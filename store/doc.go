// Package store defines the persistence ctxguard needs as small interfaces,
// so that the embedded default (package store/bolt, on bbolt) and a shared
// database for many guards can be swapped without a change outside store/.
// Package store/storetest is the conformance suite every implementation
// passes.
package store
