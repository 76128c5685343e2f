package coalesce

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// ErrCycle is returned to a caller that runs inside a call's function
// (its ctx is, or derives from, the one the function was given) and would
// wait for a call that waits, directly or through the calls it waits for,
// for that function's call: its own key, or a cycle of keys whose
// functions ask for each other (a CNAME loop in a resolver). Waiting
// would never end, or end only at LockTimeout, LoadTimeout or ctx.
var ErrCycle = errors.New("coalesce: cycle: the call would wait for a call that waits for it")

// node is a call's place in the graph of calls whose functions wait for
// other calls: on lists the calls its function waits for now (several,
// if it waits from several goroutines). A DoBatch's calls share their
// batch's node, as they share one function. The graph spans Groups: a
// Loader of one cache may wait for a load of another cache that waits for
// it.
//
// A cycle is found by the caller that adds its last edge: every caller
// adds its edge (under its node's lock) and then walks from the call it
// waits for (taking each node's lock in turn). The locks order the adds
// and the walks, so of the callers whose edges close a cycle, the one
// whose add came last sees every other edge of it on its walk.
type node struct {
	mu sync.Mutex
	on []*node
}

// nodeKey is the context key under which a call's function finds its node.
type nodeKey struct{}

// withNode returns the context a call's function runs with: ctx, marked
// as running inside the call whose node is n.
func withNode(ctx context.Context, n *node) context.Context {
	return context.WithValue(ctx, nodeKey{}, n)
}

// Outside returns ctx, its values, deadline and cancellation kept, marked
// as outside any call's function: a caller with it waits as a caller from
// outside would, adding no edge to the graph and getting no ErrCycle.
// Every wait made with a function's ctx (or one derived from it) counts as
// that function's, whichever goroutine makes it; so a function that
// starts work it does not wait for (a goroutine prefetching another key)
// hands that work Outside(ctx), or a call that waits for the function
// would see a cycle through that work's waits where there is none. A loop
// closed through such a ctx is not seen: it waits as any caller does.
func Outside(ctx context.Context) context.Context {
	if nodeOf(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, nodeKey{}, (*node)(nil))
}

// nodeOf returns the node of the call whose function ctx was given (the
// innermost one), or nil if ctx is not inside a call's function.
func nodeOf(ctx context.Context) *node {
	n, _ := ctx.Value(nodeKey{}).(*node)
	return n
}

// graph returns c's node: its batch's, for a DoBatch's call.
func (c *call[V]) graph() *node {
	if c.batch != nil {
		return &c.batch.node
	}
	return &c.node
}

// waitFor records that the function of n's call waits for t's call, and
// reports whether it may: false (and nothing recorded) if t's call waits,
// directly or through others, for n's, or is n's. Each true must be
// followed by done(t) once the wait ends.
func (n *node) waitFor(t *node) bool {
	n.add(t)
	if reaches(t, n) {
		n.done(t)
		return false
	}
	return true
}

// add records that the function of n's call waits for t's call.
func (n *node) add(t *node) {
	n.mu.Lock()
	n.on = append(n.on, t)
	n.mu.Unlock()
}

// done removes one edge from n to t, which waitFor added.
func (n *node) done(t *node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if i := slices.Index(n.on, t); i >= 0 {
		n.on = slices.Delete(n.on, i, i+1)
	}
}

// reaches reports whether to can be reached from from along the edges.
// The graph is tiny (the calls that wait inside calls' functions), so the
// walk keeps its visited nodes in a slice.
func reaches(from, to *node) bool {
	stack := []*node{from}
	var seen []*node
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == to {
			return true
		}
		if slices.Contains(seen, n) {
			continue
		}
		seen = append(seen, n)
		n.mu.Lock()
		stack = append(stack, n.on...)
		n.mu.Unlock()
	}
	return false
}

// enter records, if ctx is inside a call's function, that it is about to
// wait for c. It returns the function that ends the record (a no-op
// outside calls' functions), or ErrCycle if the wait would never end.
func enter[V any](ctx context.Context, c *call[V]) (leave func(), err error) {
	me := nodeOf(ctx)
	if me == nil {
		return func() {}, nil
	}
	t := c.graph()
	if !me.waitFor(t) {
		return nil, ErrCycle
	}
	return func() { me.done(t) }, nil
}
