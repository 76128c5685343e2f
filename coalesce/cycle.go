package coalesce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrCycle is returned to a caller that runs inside a call's function
// (its ctx is, or derives from, the one the function was given) and would
// wait for a call that waits, directly or through the calls it waits for,
// for that function's call: its own key, or a cycle of keys whose
// functions ask for each other (a CNAME loop in a resolver). Waiting
// would never end, or end only at LockTimeout, LoadTimeout or ctx.
var ErrCycle = errors.New("ufocache: load cycle: the load would wait for a load that waits for it")

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

// fnContext is the context a call's function runs with: its parent's
// values, and nothing of its deadline or cancellation (as
// context.WithoutCancel gives); marked as inside the call whose node is
// node; ended only by the Group's Close (stop, one of its life's). It lives in
// the call (or the batch): a load allocates no context for its function,
// where WithoutCancel, a WithValue for the mark and a cancel context
// would cost three allocations.
type fnContext struct {
	parent  context.Context
	node    *node
	stop    context.Context // set by its Group's life.stopFor
	ownStop bool            // stop is the function's own, held in life.own until exit
}

func (*fnContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *fnContext) Done() <-chan struct{}     { return c.stop.Done() }
func (c *fnContext) Err() error                { return c.stop.Err() }

func (c *fnContext) Value(key any) any {
	if key == (nodeKey{}) {
		return c.node
	}
	// stop, a context of Background's, holds no value but the key under
	// which the context package finds the cancel context behind a Done
	// channel: itself. Answering that key with stop (not with the
	// parent's cancel context, which a caller may have ended with a cause
	// of its own) makes context.Cause report stop's cause, and makes stop
	// the parent that a WithTimeout of this context joins directly, with
	// no goroutine to watch Done.
	if v := c.stop.Value(key); v != nil {
		return v
	}
	return c.parent.Value(key)
}

func (c *fnContext) String() string { return fmt.Sprint(c.parent, " (a coalesce call's)") }

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
// wait for c: it returns the function's node and c's, for done once the
// wait ends (nil outside calls' functions), or ErrCycle if the wait would
// never end.
func enter[V any](ctx context.Context, c *call[V]) (me, t *node, err error) {
	if me = nodeOf(ctx); me == nil {
		return nil, nil, nil
	}
	t = c.graph()
	if !me.waitFor(t) {
		return nil, nil, ErrCycle
	}
	return me, t, nil
}
