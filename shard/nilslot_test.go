package shard

import (
	"testing"

	"github.com/ufocache/ufocache/fifo"
)

// A reader loads a group's control word, then the pointers of the slots
// whose tag matches. Between the two a writer may remove the entry (the
// tag retracted, then the pointer cleared), so a reader can see a tag
// whose slot holds nil: Find must skip that slot, not dereference it.
// The reader's view is built here by hand (the tag left, the pointer
// cleared), which is what it sees when the removal lands between its two
// loads; a lookup of the same key, and one of another key with the same
// tag and home, then end as a miss.
func TestFindSkipsAMatchingTagWhoseSlotIsEmpty(t *testing.T) {
	s, _ := shardWithEmptiedSlot(t)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Find dereferenced a slot whose tag matched but whose pointer is nil: %v", r)
			}
		}()
		if got := s.Find(5, indexHash(5)); got != nil {
			t.Errorf("Find(5) = %v from an emptied slot", got)
		}
		// Another key with key 5's tag (low 7 bits) and home: 5+512
		// (bin 0 too).
		if got := s.Find(5+512, indexHash(5+512)); got != nil {
			t.Errorf("Find(517) = %v", got)
		}
	}()
}

// Snapshot (Cache.All) reads the index without a lock too: a tag whose
// slot a removal has just cleared is skipped, not returned as a nil entry.
func TestSnapshotSkipsAMatchingTagWhoseSlotIsEmpty(t *testing.T) {
	s, keep := shardWithEmptiedSlot(t)
	es := s.Snapshot()
	if len(es) != 1 || es[0] != keep {
		t.Errorf("Snapshot with key 5's slot emptied under its tag: %v, want only key 6's entry", es)
	}
}

// shardWithEmptiedSlot returns a shard's index holding keys 5 and 6 (its
// entry returned), with key 5's slot (group 0, slot 0) cleared under its
// tag: the removal's second store, as a reader that loaded the control
// word before the first one sees it.
func shardWithEmptiedSlot(t *testing.T) (*Shard[int, int], *fifo.Entry[int, int]) {
	s := new(Shard[int, int])
	s.idx.hash = indexHash
	s.hash = indexHash
	s.idx.init(1000, 0)
	x := &s.idx
	e := indexAdd(x, 5) // home group 0, slot 0
	keep := indexAdd(x, 6)
	tab := x.t.Load()
	grp, i, probed := tab.locate(e, indexHash(5))
	if grp != &tab.groups[0] || i != 0 || !probed {
		t.Fatalf("setup: key 5 in group %d slot %d (probed %v), want group 0 slot 0", tab.groupOf(grp), i, probed)
	}
	grp.slots[i].Store(nil)
	return s, keep
}
