package ufocache

import "context"

// JoinAfterMiss is the path of a Get that found neither a fresh value nor
// a cached error, for a test to play a caller that looked just before a
// load stored k.
func (rt *RTCache[K, V]) JoinAfterMiss(ctx context.Context, k K) (V, Status, error) {
	r, st, err := rt.joinLoaded(ctx, k, Miss)
	return r.val, st, err
}
