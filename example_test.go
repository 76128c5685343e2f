package ufocache_test

import (
	"fmt"
	"time"

	"github.com/ufocache/ufocache"
)

func Example() {
	c, err := ufocache.New(ufocache.Options[string, string]{MaxWeight: 10_000})
	if err != nil {
		panic(err)
	}
	c.Set("example.com", "93.184.215.14")
	c.SetWithTTL("short.example", "10.0.0.1", 30*time.Second)

	if ip, ok := c.Get("example.com"); ok {
		fmt.Println("hit:", ip)
	}
	if _, st := c.GetWithStatus("absent.example"); st == ufocache.Miss {
		fmt.Println("miss")
	}
	old, _ := c.Delete("example.com")
	fmt.Println("deleted:", old, "len:", c.Len())
	// Output:
	// hit: 93.184.215.14
	// miss
	// deleted: 93.184.215.14 len: 1
}

// A Weigher turns MaxWeight into a byte budget.
func ExampleOptions_weigher() {
	c := ufocache.Must(ufocache.Options[string, []byte]{
		MaxWeight: 1 << 20, // 1 MiB of values
		Weigher:   func(_ string, v []byte) uint32 { return uint32(len(v)) },
		OnEvict: func(k string, _ []byte, r ufocache.EvictReason) {
			fmt.Println("evicted", k, r)
		},
		Shards: 1,
	})
	c.Set("small", make([]byte, 100))
	fmt.Println(c.Set("too-big", make([]byte, 2<<20)), c.Weight())
	// Output:
	// evicted too-big rejected
	// false 100
}

// InitialCapacity sizes the index for the entries expected, here those of
// a byte budget of 64 MiB at about 1 KiB a value, so that filling the cache
// never doubles an index table under a Set.
func ExampleOptions_initialCapacity() {
	c, err := ufocache.New(ufocache.Options[string, []byte]{
		MaxWeight:       64 << 20,
		Weigher:         func(_ string, v []byte) uint32 { return uint32(len(v)) },
		InitialCapacity: 64 << 10,
	})
	fmt.Println(err == nil, c.Len())
	_, err = ufocache.New(ufocache.Options[string, int]{MaxWeight: 100, InitialCapacity: 1000})
	fmt.Println(err)
	// Output:
	// true 0
	// ufocache: InitialCapacity must be between 0 and MaxWeight (100; an entry weighs at least 1), got 1000
}

// GetStale serves an expired value with its age, for stale-if-error.
func ExampleCache_GetStale() {
	clock := &manualClock{}
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Clock: clock})
	c.SetWithTTL("k", 1, time.Second)
	clock.now += int64(3 * time.Second)
	_, st := c.GetWithStatus("k")
	v, staleFor, ok := c.GetStale("k")
	fmt.Println(st, v, staleFor, ok)
	// Output: expired 1 2s true
}

type manualClock struct{ now int64 }

func (m *manualClock) Nanotime() int64 { return m.now }

// A DNS resolver's key built from the request's bytes: GetBytes looks it
// up without converting the buffer to a string, so without an allocation.
func ExampleGetBytes() {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10_000})
	c.Set("example.com./A", "93.184.215.14")

	buf := make([]byte, 0, 256) // reused for every request
	buf = append(buf, "example.com."...)
	buf = append(buf, "/A"...)
	if ip, ok := ufocache.GetBytes(c, buf); ok {
		fmt.Println("hit:", ip)
	}
	// Output:
	// hit: 93.184.215.14
}

// A DNS resolver answers from its cache with the time the record has left,
// as a TTL must count down between the origin and the client.
func ExampleCache_GetWithTTL() {
	clk := &exampleClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10_000, Clock: clk})
	c.SetWithTTL("example.com. A", "93.184.215.14", 300*time.Second) // the origin's TTL
	c.Set("localhost. A", "127.0.0.1")                               // no TTL

	clk.now += int64(42 * time.Second)
	if ip, ttl, ok := c.GetWithTTL("example.com. A"); ok {
		fmt.Println(ip, "ttl", int(ttl.Seconds()))
	}
	if _, ttl, ok := c.GetWithTTL("localhost. A"); ok && ttl == ufocache.NoExpiration {
		fmt.Println("localhost: no expiry")
	}
	clk.now += int64(300 * time.Second)
	_, _, ok := c.GetWithTTL("example.com. A")
	fmt.Println("after 342 s:", ok)
	// Output:
	// 93.184.215.14 ttl 258
	// localhost: no expiry
	// after 342 s: false
}

// exampleClock is a clock the example moves by hand (Options.Clock).
type exampleClock struct{ now int64 }

func (c *exampleClock) Nanotime() int64 { return c.now }
